// Bounded parallelism for independent tasks (layer downloads and uploads).

/** Run tasks with at most `limit` at a time; after a failure no new task starts, and the first failure is thrown once the running ones settle. */
export async function inParallel(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < tasks.length && failure === undefined) {
      const t = tasks[next++]!;
      await t().catch((e) => (failure ??= e));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  if (failure !== undefined) throw failure;
}
