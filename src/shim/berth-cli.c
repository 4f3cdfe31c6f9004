/*
 * berth-cli: the native front end of the berth CLI (what bin/berth runs). Starting Node costs 50-80 ms
 * on its own, so instead of starting one per command this hands the command to an already-warm
 * TypeScript CLI process (nailgun's idea; docs/notes/cli.md):
 *
 *   1. connect to the user's private unix socket of the warm CLI server for this build of the CLI
 *      ($XDG_RUNTIME_DIR/berth-cli, /run/berth-cli for root, else /tmp/berth-cli-UID; a 0700 folder;
 *      the socket's name is keyed on dist/src/cli/main.js's inode, size and mtime, so a rebuilt CLI
 *      never talks to a process running the old code);
 *   2. send fds 0, 1, 2 with SCM_RIGHTS, then the working directory, umask, argv and environment;
 *   3. the server hands the connection to a pre-started Node child (its modules already loaded), which
 *      puts the fds on its own 0, 1, 2 and runs the command exactly as dist/src/cli/main.js would;
 *   4. relay signals (INT, TERM, HUP, QUIT, WINCH, USR1, USR2, TSTP/CONT) to that child by pid, and
 *      exit with its exit status (or die of the same signal).
 *
 * If no server answers, start one in the background for next time and exec node on the CLI directly,
 * so no command ever waits for it. BERTH_CLI_DIRECT=1 always runs node directly.
 * Like Node itself, the front end puts back the O_NONBLOCK flag and terminal modes of fds 0-2 as they
 * were at the start when the command ends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static char root[PATH_MAX];
static char main_js[PATH_MAX + 32];
static int trace;
static struct timespec t0;

static double ms_since_start(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)(t.tv_sec - t0.tv_sec) * 1e3 + (double)(t.tv_nsec - t0.tv_nsec) / 1e6;
}

static void tracef(const char *what) {
  if (trace) fprintf(stderr, "berth-cli: %7.3f ms %s (monotonic %.3f)\n", ms_since_start(), what, (double)t0.tv_sec * 1e3 + (double)t0.tv_nsec / 1e6 + ms_since_start());
}

/* node on PATH, as `#!/usr/bin/env node` finds it (or $BERTH_NODE). */
static const char *find_node(void) {
  static char buf[PATH_MAX];
  const char *n = getenv("BERTH_NODE");
  if (n && *n) return n;
  const char *path = getenv("PATH");
  if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
  while (*path) {
    const char *end = strchr(path, ':');
    size_t len = end ? (size_t)(end - path) : strlen(path);
    if (len > 0 && len + 6 < sizeof buf) {
      memcpy(buf, path, len);
      memcpy(buf + len, "/node", 6);
      if (access(buf, X_OK) == 0) return buf;
    }
    if (!end) break;
    path = end + 1;
  }
  return NULL;
}

/* Run the command in a fresh Node process (the direct path). */
static void direct(int argc, char **argv) {
  const char *node = find_node();
  if (!node) {
    fprintf(stderr, "berth: node (20 or later) was not found on PATH; install it or set BERTH_NODE\n");
    exit(127);
  }
  char **args = calloc((size_t)argc + 4, sizeof *args);
  if (!args) exit(1);
  args[0] = "node";
  args[1] = "--"; /* Node 20 would take `run --env-file F` for itself otherwise */
  args[2] = main_js;
  for (int i = 1; i < argc; i++) args[i + 2] = argv[i];
  execv(node, args);
  fprintf(stderr, "berth: cannot run %s: %s\n", node, strerror(errno));
  exit(127);
}

/* The private folder for the sockets: ours, a directory, 0700. */
static int run_dir(char *out, size_t size) {
  const char *d = getenv("BERTH_CLI_RUNDIR");
  const char *xdg = getenv("XDG_RUNTIME_DIR");
  uid_t uid = getuid();
  if (d && *d) snprintf(out, size, "%s", d);
  else if (xdg && *xdg) snprintf(out, size, "%s/berth-cli", xdg);
  else if (uid == 0) snprintf(out, size, "/run/berth-cli");
  else snprintf(out, size, "/tmp/berth-cli-%u", (unsigned)uid);
  if (mkdir(out, 0700) < 0 && errno != EEXIST) return -1;
  struct stat st;
  if (lstat(out, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != uid || (st.st_mode & 077)) return -1;
  return 0;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
  return h;
}

/* Start the warm server (detached: own session, stdio on /dev/null and a log) and do not wait for it. */
static void start_server(const char *sock) {
  const char *node = find_node();
  if (!node) return;
  pid_t p = fork();
  if (p < 0) return;
  if (p > 0) {
    while (waitpid(p, NULL, 0) < 0 && errno == EINTR) {}
    return;
  }
  setsid();
  if (fork() != 0) _exit(0);
  char server_js[PATH_MAX + 40], log[PATH_MAX + 8];
  snprintf(server_js, sizeof server_js, "%s/dist/src/cli/warm/server.js", root);
  snprintf(log, sizeof log, "%s.log", sock);
  int nul = open("/dev/null", O_RDWR);
  int lg = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (nul < 0) _exit(1);
  dup2(nul, 0);
  dup2(nul, 1);
  dup2(lg >= 0 ? lg : nul, 2);
  for (int fd = 3; fd < 1024; fd++) close(fd);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  char *args[] = {"node", server_js, (char *)sock, main_js, NULL};
  execv(node, args);
  _exit(127);
}

/* ---- the session with the server ---- */

static int sigpipe_fds[2] = {-1, -1};
static const int RELAYED[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGUSR1, SIGUSR2, SIGTSTP, SIGCONT};
#define NRELAYED (int)(sizeof RELAYED / sizeof RELAYED[0])

static void on_signal(int sig) {
  int e = errno;
  unsigned char b = (unsigned char)sig;
  (void)!write(sigpipe_fds[1], &b, 1);
  errno = e;
}

struct stdio_state {
  int ok, flags, tty;
  struct termios tio;
};
static struct stdio_state saved[3];

static void save_stdio(void) {
  for (int fd = 0; fd < 3; fd++) {
    saved[fd].flags = fcntl(fd, F_GETFL);
    saved[fd].ok = saved[fd].flags != -1;
    saved[fd].tty = saved[fd].ok && tcgetattr(fd, &saved[fd].tio) == 0;
  }
}

/* What Node's ResetStdio does when a directly started CLI exits. */
static void reset_stdio(void) {
  for (int fd = 0; fd < 3; fd++) {
    if (!saved[fd].ok) continue;
    int flags = fcntl(fd, F_GETFL);
    if (flags != -1 && ((flags ^ saved[fd].flags) & O_NONBLOCK))
      fcntl(fd, F_SETFL, (flags & ~O_NONBLOCK) | (saved[fd].flags & O_NONBLOCK));
    if (saved[fd].tty) {
      sigset_t ttou, old;
      sigemptyset(&ttou);
      sigaddset(&ttou, SIGTTOU);
      sigprocmask(SIG_BLOCK, &ttou, &old);
      while (tcsetattr(fd, TCSANOW, &saved[fd].tio) < 0 && errno == EINTR) {}
      sigprocmask(SIG_SETMASK, &old, NULL);
    }
  }
}

static void die_of(int sig) {
  reset_stdio();
  signal(sig, SIG_DFL);
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, sig);
  sigprocmask(SIG_UNBLOCK, &s, NULL);
  kill(getpid(), sig);
  _exit(128 + sig);
}

static int send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* The request: "BRTH" u32 length, fds 0-2 attached; then cwd, umask, argc, argv..., envc, env... (NUL-terminated). */
static int send_request(int s, int argc, char **argv) {
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) return -1;
  mode_t um = umask(0);
  umask(um);
  int envc = 0;
  for (char **e = environ; *e; e++) envc++;
  size_t len = strlen(cwd) + 1 + 16 + 16 + 16;
  for (int i = 1; i < argc; i++) len += strlen(argv[i]) + 1;
  for (char **e = environ; *e; e++) len += strlen(*e) + 1;
  char *buf = malloc(len), *p = buf;
  if (!buf) return -1;
  p += sprintf(p, "%s", cwd) + 1;
  p += sprintf(p, "%o", (unsigned)um) + 1;
  p += sprintf(p, "%d", argc - 1) + 1;
  for (int i = 1; i < argc; i++) p = stpcpy(p, argv[i]) + 1;
  p += sprintf(p, "%d", envc) + 1;
  for (char **e = environ; *e; e++) p = stpcpy(p, *e) + 1;
  uint32_t n = (uint32_t)(p - buf);

  char head[8] = {'B', 'R', 'T', 'H'};
  memcpy(head + 4, &n, 4);
  int fds[3] = {0, 1, 2};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof fds)];
  } ctl;
  memset(&ctl, 0, sizeof ctl);
  struct iovec iov = {.iov_base = head, .iov_len = sizeof head};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof fds);
  memcpy(CMSG_DATA(c), fds, sizeof fds);
  ssize_t w;
  while ((w = sendmsg(s, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR) {}
  int rc = -1;
  if (w == (ssize_t)sizeof head) rc = send_all(s, buf, n);
  else if (w > 0) rc = send_all(s, head + w, sizeof head - (size_t)w) == 0 ? send_all(s, buf, n) : -1;
  free(buf);
  return rc;
}

int main(int argc, char **argv) {
  clock_gettime(CLOCK_MONOTONIC, &t0);
  const char *tr = getenv("BERTH_CLI_TRACE");
  trace = tr && *tr && strcmp(tr, "0") != 0;

  /* The repository: this binary is <root>/src/shim/berth-cli (bin/berth links to it). */
  ssize_t n = readlink("/proc/self/exe", root, sizeof root - 1);
  if (n <= 0) {
    fprintf(stderr, "berth: cannot find its own path: %s\n", strerror(errno));
    return 1;
  }
  root[n] = 0;
  for (int i = 0; i < 3; i++) {
    char *slash = strrchr(root, '/');
    if (!slash) break;
    *slash = 0;
  }
  snprintf(main_js, sizeof main_js, "%s/dist/src/cli/main.js", root);

  /* fds 0-2 must exist to be passed (Node would open /dev/null on a closed one too). */
  for (int fd = 0; fd < 3; fd++) {
    if (fcntl(fd, F_GETFD) == -1) {
      int nul = open("/dev/null", O_RDWR);
      if (nul != fd) return 1;
    }
  }

  const char *d = getenv("BERTH_CLI_DIRECT");
  if (d && strcmp(d, "1") == 0) direct(argc, argv);

  struct stat st;
  if (stat(main_js, &st) < 0) direct(argc, argv); /* not built: node says so */
  char addon[PATH_MAX + 40];
  snprintf(addon, sizeof addon, "%s/src/shim/berth-fdpass.node", root);
  if (access(addon, R_OK) < 0) direct(argc, argv); /* built without Node's headers: no warm CLI */
  char dir[PATH_MAX];
  if (run_dir(dir, sizeof dir - 64) < 0) direct(argc, argv);
  uint64_t h = 0xcbf29ce484222325ULL;
  h = fnv(h, root, strlen(root));
  h = fnv(h, &st.st_dev, sizeof st.st_dev);
  h = fnv(h, &st.st_ino, sizeof st.st_ino);
  h = fnv(h, &st.st_size, sizeof st.st_size);
  h = fnv(h, &st.st_mtim, sizeof st.st_mtim);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int sl = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/cli-%016llx.sock", dir, (unsigned long long)h);
  if (sl < 0 || (size_t)sl >= sizeof sa.sun_path) direct(argc, argv);

  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) direct(argc, argv);
  if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
    tracef("no warm server: starting one, running this command directly");
    close(s);
    start_server(sa.sun_path);
    direct(argc, argv);
  }
  tracef("connected");

  if (pipe2(sigpipe_fds, O_CLOEXEC | O_NONBLOCK) < 0) direct(argc, argv);
  struct sigaction sact;
  memset(&sact, 0, sizeof sact);
  sact.sa_handler = on_signal;
  sigemptyset(&sact.sa_mask);
  sact.sa_flags = SA_RESTART;
  for (int i = 0; i < NRELAYED; i++) sigaction(RELAYED[i], &sact, NULL);
  save_stdio();

  if (send_request(s, argc, argv) < 0) {
    /* Nothing ran yet: the server went away between connect and send. */
    tracef("hand-over failed: running directly");
    for (int i = 0; i < NRELAYED; i++) signal(RELAYED[i], SIG_DFL);
    direct(argc, argv);
  }
  tracef("request sent");

  pid_t child = 0;
  unsigned char pending[64];
  int npending = 0;
  char line[64];
  size_t ll = 0;
  for (;;) {
    struct pollfd p[2] = {{.fd = s, .events = POLLIN}, {.fd = sigpipe_fds[0], .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[1].revents & POLLIN) {
      unsigned char sigs[32];
      ssize_t r = read(sigpipe_fds[0], sigs, sizeof sigs);
      for (ssize_t i = 0; i < r; i++) {
        int sig = sigs[i];
        if (!child) {
          if (npending < (int)sizeof pending) pending[npending++] = (unsigned char)sig;
          continue;
        }
        if (sig == SIGTSTP) {
          /* Ctrl-Z: stop the command, then ourselves (the shell sees the job stop); SIGCONT resumes both. */
          kill(child, SIGTSTP);
          signal(SIGTSTP, SIG_DFL);
          raise(SIGTSTP);
          sigaction(SIGTSTP, &sact, NULL);
          kill(child, SIGCONT);
          continue;
        }
        kill(child, sig);
      }
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = read(s, line + ll, sizeof line - 1 - ll);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      ll += (size_t)r;
      char *nl;
      while ((nl = memchr(line, '\n', ll))) {
        *nl = 0;
        if (line[0] == 'P') {
          child = (pid_t)atoi(line + 1);
          if (trace) {
            char what[64];
            snprintf(what, sizeof what, "handed to the warm child %d", (int)child);
            tracef(what);
          }
          for (int i = 0; i < npending; i++) kill(child, pending[i]);
          npending = 0;
        } else if (line[0] == 'X') {
          tracef("command done");
          reset_stdio();
          _exit(atoi(line + 1));
        } else if (line[0] == 'S') {
          tracef("command killed by a signal");
          die_of(atoi(line + 1));
        } else if (line[0] == 'D') {
          /* The server would not take it (it serves another build, or is shutting down). */
          tracef("server declined: running directly");
          for (int i = 0; i < NRELAYED; i++) signal(RELAYED[i], SIG_DFL);
          direct(argc, argv);
        }
        size_t used = (size_t)(nl - line) + 1;
        memmove(line, line + used, ll - used);
        ll -= used;
      }
      if (ll >= sizeof line - 1) break;
    }
  }
  if (!child) {
    /* The server went away before naming a child: no child holds the connection (one that did would
     * still hold it, running the command, or would have said X), so nothing ran. This happens when a
     * server was just killed: its threads still hold the listening socket for a moment after the main
     * thread is gone, so connect() succeeds and then meets EOF. */
    tracef("the warm server went away before taking the command: starting one, running this command directly");
    for (int i = 0; i < NRELAYED; i++) signal(RELAYED[i], SIG_DFL);
    close(s);
    start_server(sa.sun_path);
    direct(argc, argv);
  }
  reset_stdio();
  fprintf(stderr, "berth: the warm CLI process went away before the command finished (BERTH_CLI_DIRECT=1 runs without it)\n");
  return 1;
}
