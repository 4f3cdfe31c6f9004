/*
 * berth-fdpass.node: the one thing a warm CLI process cannot do in JavaScript. It takes over the
 * caller's standard streams from the native front end (src/shim/berth-cli.c): recvmsg() with
 * SCM_RIGHTS on the connection, checks the peer is the same user (SO_PEERCRED), reads the request
 * that follows, and dup2()s the three received descriptors onto 0, 1 and 2, so the command writes to
 * the user's own terminal, pipe or file (isTTY, raw mode and window size all real).
 *
 *   adopt(fd: number, timeoutMs: number): Buffer   the request (cwd, umask, argv, environment)
 *   dup(fd: number): number                        a close-on-exec copy (the child's own stdio streams)
 *   release(): void                                /dev/null onto 0, 1, 2 (the user's fds let go)
 *
 * Must run before anything touches process.stdin/stdout/stderr. Plain C against Node-API (stable ABI).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>
#include <node_api.h>

#define MAGIC "BRTH"
#define MAX_REQUEST (16u << 20)

static int wait_readable(int fd, int timeout_ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  for (;;) {
    int r = poll(&p, 1, timeout_ms);
    if (r > 0) return 0;
    if (r == 0) { errno = ETIMEDOUT; return -1; }
    if (errno != EINTR) return -1;
  }
}

static int read_full(int fd, char *buf, size_t len, int timeout_ms) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, buf + got, len - got);
    if (n > 0) { got += (size_t)n; continue; }
    if (n == 0) { errno = ECONNRESET; return -1; }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    if (wait_readable(fd, timeout_ms) < 0) return -1;
  }
  return 0;
}

static napi_value fail(napi_env env, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "berth warm CLI: %s: %s", what, strerror(errno));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static napi_value adopt(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd = -1, timeout_ms = 5000;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "adopt(fd, timeoutMs)");
    return NULL;
  }
  if (argc > 1) napi_get_value_int32(env, argv[1], &timeout_ms);

  struct ucred cred;
  socklen_t cl = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) return fail(env, "SO_PEERCRED");
  if (cred.uid != getuid()) {
    errno = EPERM;
    return fail(env, "the front end belongs to another user");
  }

  char head[8];
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(3 * sizeof(int))];
  } ctl;
  struct iovec iov = {.iov_base = head, .iov_len = sizeof head};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
  ssize_t n;
  for (;;) {
    n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
    if (n >= 0) break;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return fail(env, "recvmsg");
    if (wait_readable(fd, timeout_ms) < 0) return fail(env, "waiting for the front end");
  }
  int fds[3] = {-1, -1, -1};
  int nfds = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      nfds = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      if (nfds > 3) nfds = 3;
      memcpy(fds, CMSG_DATA(c), (size_t)nfds * sizeof(int));
    }
  }
  if (n > 0 && n < (ssize_t)sizeof head && read_full(fd, head + n, sizeof head - (size_t)n, timeout_ms) < 0)
    return fail(env, "reading the request header");
  if (n == 0 || nfds != 3 || memcmp(head, MAGIC, 4) != 0) {
    for (int i = 0; i < nfds; i++) close(fds[i]);
    errno = EPROTO;
    return fail(env, "bad request from the front end");
  }
  uint32_t len;
  memcpy(&len, head + 4, 4);
  if (len > MAX_REQUEST) {
    errno = E2BIG;
    return fail(env, "request");
  }
  void *data;
  napi_value buffer;
  if (napi_create_buffer(env, len, &data, &buffer) != napi_ok) return NULL;
  if (read_full(fd, data, len, timeout_ms) < 0) return fail(env, "reading the request");
  for (int i = 0; i < 3; i++) {
    if (dup2(fds[i], i) < 0) return fail(env, "dup2");
  }
  for (int i = 0; i < 3; i++) {
    if (fds[i] > 2) close(fds[i]);
  }
  return buffer;
}

static napi_value dup_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  int32_t fd = -1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "dup(fd)");
    return NULL;
  }
  int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (d < 0) return fail(env, "dup");
  napi_create_int32(env, d, &result);
  return result;
}

static napi_value release(napi_env env, napi_callback_info info) {
  (void)info;
  int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (nul < 0) return fail(env, "/dev/null");
  for (int i = 0; i < 3; i++) dup2(nul, i);
  close(nul);
  return NULL;
}

NAPI_MODULE_INIT() {
  static const struct {
    const char *name;
    napi_callback cb;
  } fns[] = {{"adopt", adopt}, {"dup", dup_fd}, {"release", release}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &fn);
    napi_set_named_property(env, exports, fns[i].name, fn);
  }
  return exports;
}
