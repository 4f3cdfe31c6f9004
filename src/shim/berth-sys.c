/*
 * berth-sys.node: system calls berthd makes on a container's start and exit path that Node has no
 * binding for, so they need not be a program each (mount(8) and umount(8) cost a fork + exec, a few ms,
 * on every start and exit). Each runs on libuv's thread pool and returns a promise.
 *
 *   mount(source, target, fstype, flags, data): Promise<void>   mount(2)
 *   umount(target, flags): Promise<void>                        umount2(2)
 *
 * A failure rejects with an Error whose `code` is the errno's name (EBUSY, EINVAL, ...) and whose message
 * names the call, its target and the reason. Plain C against Node-API (stable ABI).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <node_api.h>

enum op { OP_MOUNT, OP_UMOUNT };

struct call {
  enum op op;
  char *source, *target, *fstype, *data;
  unsigned long flags;
  int err;
  napi_deferred deferred;
  napi_async_work work;
};

static void free_call(struct call *c) {
  free(c->source);
  free(c->target);
  free(c->fstype);
  free(c->data);
  free(c);
}

/* A JavaScript string argument as a malloc'd C string; NULL (and a thrown TypeError) if it is not one. */
static char *string_arg(napi_env env, napi_value v) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (s) napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

static void execute(napi_env env, void *data) {
  (void)env;
  struct call *c = data;
  int r = c->op == OP_MOUNT ? mount(c->source, c->target, c->fstype, c->flags, c->data) : umount2(c->target, (int)c->flags);
  c->err = r == 0 ? 0 : errno;
}

static void complete(napi_env env, napi_status status, void *data) {
  struct call *c = data;
  if (status == napi_ok && c->err == 0) {
    napi_value undef;
    napi_get_undefined(env, &undef);
    napi_resolve_deferred(env, c->deferred, undef);
  } else {
    int err = status == napi_ok ? c->err : ECANCELED;
    char msg[4200];
    snprintf(msg, sizeof msg, "%s %s: %s", c->op == OP_MOUNT ? "mount" : "umount", c->target, strerror(err));
    const char *name = strerrorname_np(err);
    napi_value m, code, error;
    napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
    napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
    napi_create_error(env, code, m, &error);
    napi_value errnoValue;
    napi_create_int32(env, err, &errnoValue);
    napi_set_named_property(env, error, "errno", errnoValue);
    napi_reject_deferred(env, c->deferred, error);
  }
  napi_delete_async_work(env, c->work);
  free_call(c);
}

static napi_value queue(napi_env env, struct call *c) {
  napi_value promise, name;
  napi_create_promise(env, &c->deferred, &promise);
  napi_create_string_utf8(env, c->op == OP_MOUNT ? "berth-sys mount" : "berth-sys umount", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, execute, complete, c, &c->work);
  napi_queue_async_work(env, c->work);
  return promise;
}

static napi_value do_mount(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct call *c = calloc(1, sizeof *c);
  double flags = 0;
  if (!c) return NULL;
  c->op = OP_MOUNT;
  if (argc < 5 || !(c->source = string_arg(env, argv[0])) || !(c->target = string_arg(env, argv[1])) ||
      !(c->fstype = string_arg(env, argv[2])) || napi_get_value_double(env, argv[3], &flags) != napi_ok ||
      !(c->data = string_arg(env, argv[4]))) {
    free_call(c);
    napi_throw_type_error(env, NULL, "mount(source, target, fstype, flags, data)");
    return NULL;
  }
  c->flags = (unsigned long)flags;
  return queue(env, c);
}

static napi_value do_umount(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct call *c = calloc(1, sizeof *c);
  int32_t flags = 0;
  if (!c) return NULL;
  c->op = OP_UMOUNT;
  if (argc < 2 || !(c->target = string_arg(env, argv[0])) || napi_get_value_int32(env, argv[1], &flags) != napi_ok) {
    free_call(c);
    napi_throw_type_error(env, NULL, "umount(target, flags)");
    return NULL;
  }
  c->flags = (unsigned long)flags;
  return queue(env, c);
}

NAPI_MODULE_INIT() {
  static const struct {
    const char *name;
    napi_callback cb;
  } fns[] = {{"mount", do_mount}, {"umount", do_umount}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &fn);
    napi_set_named_property(env, exports, fns[i].name, fn);
  }
  return exports;
}
