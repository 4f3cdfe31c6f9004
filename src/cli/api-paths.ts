// Names as they go into Engine API paths.

/** Image names keep their slashes in the path (dockerd routes /images/{name:.*}/json). */
export function imagePath(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}
