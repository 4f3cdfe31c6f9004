/*
 * berth-shim: the per-container monitor.
 *
 * berthd starts one shim per container (and per exec). The shim runs `runc create` (or
 * `runc exec --detach`), becomes the subreaper of the container's process, and from then on owns
 * its stdio: it writes Docker's json-file log (with max-size/max-file rotation), serves attach
 * clients on STATE/attach.sock, and records the exit status in STATE/exit.json. So containers keep
 * running and logging while berthd is stopped or restarted. Why not conmon: its attach socket is
 * SOCK_SEQPACKET (Node cannot open one) and it writes k8s-file logs, not Docker's json-file.
 *
 * Protocol with berthd:
 *   fd 3 (sync pipe): {"ready":true} once attach.sock listens, then {"pid":N} or {"error":"..."}.
 *   attach.sock, one header line per connection:
 *     "attach [stdin] [stdout] [stderr]"  output framed like Docker's stdcopy (raw with a tty);
 *                                          bytes sent after the header go to the container's stdin
 *     "resize ROWS COLS"                   set the terminal size; answers "ok"
 *     "wait"                               answers the exit.json line when the process has exited
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 64
#define CLIENT_BUF_MAX (1 << 20) /* a client this far behind is dropped, never the container */
#define LOG_LINE_MAX 16384       /* Docker's json-file buffer: longer lines become several records */
#define STDIN_BUF_MAX (1 << 20)

enum { K_HEADER, K_ATTACH, K_WAIT };

struct client {
	int fd;
	int kind;
	int want_stdin, want_out, want_err;
	int read_closed;
	char hdr[256];
	size_t hlen;
	char *buf;
	size_t blen, bcap;
};

struct logstream {
	const char *name;
	char line[LOG_LINE_MAX];
	size_t len;
};

static struct {
	const char *id, *state, *bundle, *exec_process, *runtime, *runtime_root;
	const char *log_path;
	long long log_max_size;
	int log_max_file;
	int tty, open_stdin, stdin_once, wait_attach;
} opt = { .runtime = "/usr/sbin/runc", .log_max_file = 1 };

static struct client clients[MAX_CLIENTS];
static int nclients;
static int listen_fd = -1, sync_fd = 3;
static int out_fd = -1, err_fd = -1, in_fd = -1, master_fd = -1;
static int log_fd = -1;
static long long log_size;
static struct logstream log_out = { .name = "stdout" }, log_err = { .name = "stderr" };
static char stdin_buf[4096 * 4];
static char *stdin_pending;
static size_t stdin_plen, stdin_pcap;
static int stdin_close_pending;
static int pending_rows, pending_cols;
static char exit_json[256];
static int exited;

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	exit(1);
}

static char *path_in_state(const char *name)
{
	char *p;
	if (asprintf(&p, "%s/%s", opt.state, name) < 0)
		die("out of memory\n");
	return p;
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd p = { .fd = fd, .events = POLLOUT };
				poll(&p, 1, 1000);
				continue;
			}
			return;
		}
		buf += n;
		len -= n;
	}
}

/* JSON string escaping as Go's encoding/json does it (HTML-safe, invalid UTF-8 → U+FFFD). */
static size_t json_escape(const unsigned char *s, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		if (c < 0x80) {
			if (c == '"' || c == '\\') {
				out[o++] = '\\';
				out[o++] = c;
			} else if (c == '\n') {
				out[o++] = '\\';
				out[o++] = 'n';
			} else if (c == '\r') {
				out[o++] = '\\';
				out[o++] = 'r';
			} else if (c == '\t') {
				out[o++] = '\\';
				out[o++] = 't';
			} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
				o += sprintf(out + o, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
			} else {
				out[o++] = c;
			}
			i++;
			continue;
		}
		/* a multi-byte UTF-8 sequence: copy it if valid */
		size_t n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		int ok = n > 0 && i + n <= len;
		unsigned cp = n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
		for (size_t k = 1; ok && k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				ok = 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (ok && ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
			   (cp >= 0xd800 && cp <= 0xdfff)))
			ok = 0;
		if (!ok) {
			o += sprintf(out + o, "\\ufffd");
			i++;
		} else if (cp == 0x2028 || cp == 0x2029) {
			o += sprintf(out + o, "\\u%04x", cp);
			i += n;
		} else {
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
		}
	}
	return o;
}

static void now_rfc3339(char *out, size_t size)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, size - n, ".%09ldZ", ts.tv_nsec);
}

static void open_log(int truncate)
{
	log_fd = open(opt.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0640);
	if (log_fd < 0)
		return;
	struct stat st;
	log_size = fstat(log_fd, &st) == 0 ? st.st_size : 0;
}

/* Docker's rotation: FILE → FILE.1 → … → FILE.(max-file - 1); with max-file 1 just truncate. */
static void rotate_log(void)
{
	if (opt.log_max_file <= 1) {
		if (ftruncate(log_fd, 0) == 0)
			log_size = 0;
		return;
	}
	close(log_fd);
	char from[4096], to[4096];
	for (int i = opt.log_max_file - 1; i >= 1; i--) {
		if (i == 1)
			snprintf(from, sizeof from, "%s", opt.log_path);
		else
			snprintf(from, sizeof from, "%s.%d", opt.log_path, i - 1);
		snprintf(to, sizeof to, "%s.%d", opt.log_path, i);
		rename(from, to);
	}
	open_log(1);
}

static void log_record(struct logstream *ls, const char *data, size_t len)
{
	if (log_fd < 0 || len == 0)
		return;
	static char rec[LOG_LINE_MAX * 6 + 256];
	char ts[64];
	now_rfc3339(ts, sizeof ts);
	size_t o = (size_t)sprintf(rec, "{\"log\":\"");
	o += json_escape((const unsigned char *)data, len, rec + o);
	o += (size_t)sprintf(rec + o, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n", ls->name, ts);
	if (opt.log_max_size > 0 && log_size > 0 && log_size + (long long)o > opt.log_max_size)
		rotate_log();
	if (log_fd < 0)
		return;
	write_all(log_fd, rec, o);
	log_size += (long long)o;
}

/* Split output into records at each newline; a line longer than the buffer is flushed in parts. */
static void log_data(struct logstream *ls, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		ls->line[ls->len++] = data[i];
		if (data[i] == '\n' || ls->len == LOG_LINE_MAX) {
			log_record(ls, ls->line, ls->len);
			ls->len = 0;
		}
	}
}

static void log_flush(struct logstream *ls)
{
	log_record(ls, ls->line, ls->len);
	ls->len = 0;
}

static void drop_client(int i)
{
	close(clients[i].fd);
	free(clients[i].buf);
	clients[i] = clients[--nclients];
}

static int client_queue(struct client *c, const char *data, size_t len)
{
	if (c->blen == 0) {
		ssize_t n = write(c->fd, data, len);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (n > 0) {
			data += n;
			len -= (size_t)n;
		}
	}
	if (len == 0)
		return 0;
	if (c->blen + len > CLIENT_BUF_MAX)
		return -1;
	if (c->blen + len > c->bcap) {
		c->bcap = (c->blen + len) * 2;
		c->buf = realloc(c->buf, c->bcap);
		if (!c->buf)
			return -1;
	}
	memcpy(c->buf + c->blen, data, len);
	c->blen += len;
	return 0;
}

static void broadcast(int stream, const char *data, size_t len)
{
	unsigned char head[8] = { (unsigned char)stream, 0, 0, 0, (unsigned char)(len >> 24), (unsigned char)(len >> 16),
				  (unsigned char)(len >> 8), (unsigned char)len };
	for (int i = 0; i < nclients; i++) {
		struct client *c = &clients[i];
		if (c->kind != K_ATTACH || !(stream == 1 ? c->want_out : c->want_err))
			continue;
		int bad = (!opt.tty && client_queue(c, (const char *)head, 8) < 0) || client_queue(c, data, len) < 0;
		if (bad)
			drop_client(i--);
	}
}

static void handle_output(int fd, int stream)
{
	char buf[32768];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		/* EOF (or EIO on a pty whose slave side closed) */
		if (fd == out_fd || fd == master_fd) {
			log_flush(&log_out);
			close(fd);
			if (fd == out_fd)
				out_fd = -1;
			else
				master_fd = -1;
		} else {
			log_flush(&log_err);
			close(fd);
			err_fd = -1;
		}
		return;
	}
	log_data(stream == 1 ? &log_out : &log_err, buf, (size_t)n);
	broadcast(stream, buf, (size_t)n);
}

static void close_stdin(void)
{
	if (in_fd >= 0 && !opt.tty)
		close(in_fd);
	in_fd = -1;
	stdin_close_pending = 0;
}

static void send_stdin(const char *data, size_t len)
{
	int fd = opt.tty ? master_fd : in_fd;
	if (fd < 0)
		return;
	if (stdin_plen == 0) {
		ssize_t n = write(fd, data, len);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
		}
	}
	if (len == 0 || stdin_plen + len > STDIN_BUF_MAX)
		return;
	if (stdin_plen + len > stdin_pcap) {
		stdin_pcap = (stdin_plen + len) * 2;
		stdin_pending = realloc(stdin_pending, stdin_pcap);
	}
	memcpy(stdin_pending + stdin_plen, data, len);
	stdin_plen += len;
}

static void apply_winsize(void)
{
	if (master_fd < 0 || pending_rows <= 0)
		return;
	struct winsize ws = { .ws_row = (unsigned short)pending_rows, .ws_col = (unsigned short)pending_cols };
	ioctl(master_fd, TIOCSWINSZ, &ws);
}

/* Returns 1 when the client finished its header with this read. */
static int parse_header(struct client *c, int idx)
{
	char *nl = memchr(c->hdr, '\n', c->hlen);
	if (!nl) {
		if (c->hlen == sizeof c->hdr)
			drop_client(idx);
		return 0;
	}
	*nl = 0;
	size_t rest_len = c->hlen - (size_t)(nl + 1 - c->hdr);
	char rest[sizeof c->hdr];
	memcpy(rest, nl + 1, rest_len);
	if (strncmp(c->hdr, "attach", 6) == 0) {
		c->kind = K_ATTACH;
		c->want_stdin = strstr(c->hdr, "stdin") != NULL && (opt.open_stdin || opt.tty);
		c->want_out = strstr(c->hdr, "stdout") != NULL;
		c->want_err = strstr(c->hdr, "stderr") != NULL;
		if (c->want_stdin && rest_len)
			send_stdin(rest, rest_len);
	} else if (strncmp(c->hdr, "resize", 6) == 0) {
		sscanf(c->hdr + 6, "%d %d", &pending_rows, &pending_cols);
		apply_winsize();
		write_all(c->fd, "ok\n", 3);
		drop_client(idx);
		return 1;
	} else if (strcmp(c->hdr, "wait") == 0) {
		c->kind = K_WAIT;
		if (exited) {
			write_all(c->fd, exit_json, strlen(exit_json));
			drop_client(idx);
		}
	} else {
		drop_client(idx);
	}
	return 1;
}

static void handle_client_read(int idx)
{
	struct client *c = &clients[idx];
	if (c->kind == K_HEADER) {
		ssize_t n = read(c->fd, c->hdr + c->hlen, sizeof c->hdr - c->hlen);
		if (n <= 0) {
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			drop_client(idx);
			return;
		}
		c->hlen += (size_t)n;
		parse_header(c, idx);
		return;
	}
	ssize_t n = read(c->fd, stdin_buf, sizeof stdin_buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		c->read_closed = 1;
		if (c->want_stdin && opt.stdin_once) {
			if (stdin_plen)
				stdin_close_pending = 1;
			else
				close_stdin();
		}
		if (c->kind == K_WAIT || (!c->want_out && !c->want_err))
			drop_client(idx);
		return;
	}
	if (c->want_stdin)
		send_stdin(stdin_buf, (size_t)n);
}

static void accept_client(void)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (nclients == MAX_CLIENTS) {
		close(fd);
		return;
	}
	memset(&clients[nclients], 0, sizeof clients[0]);
	clients[nclients].fd = fd;
	clients[nclients].kind = K_HEADER;
	nclients++;
}

static int listen_unix(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (fd < 0 || strlen(path) >= sizeof addr.sun_path)
		die("socket path too long: %s\n", path);
	strcpy(addr.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 16) < 0)
		die("listen %s: %s\n", path, strerror(errno));
	return fd;
}

static void sync_msg(const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof buf - 2)
		n = sizeof buf - 2;
	buf[n++] = '\n';
	write_all(sync_fd, buf, (size_t)n);
}

/* The last error-level "msg" in runc's JSON log, escaped for our own JSON. */
static void runc_error(char *out, size_t size, const char *fallback)
{
	char *p = path_in_state("runc.log");
	FILE *f = fopen(p, "r");
	char line[8192], msg[4096] = "";
	while (f && fgets(line, sizeof line, f)) {
		if (!strstr(line, "\"level\":\"error\"") && !strstr(line, "\"level\":\"fatal\""))
			continue;
		char *m = strstr(line, "\"msg\":\"");
		if (!m)
			continue;
		m += 7;
		size_t k = 0;
		for (; *m && k < sizeof msg - 2; m++) {
			if (*m == '\\' && m[1]) {
				msg[k++] = *m++;
				msg[k++] = *m;
				continue;
			}
			if (*m == '"')
				break;
			msg[k++] = *m;
		}
		msg[k] = 0;
	}
	if (f)
		fclose(f);
	free(p);
	if (msg[0]) {
		snprintf(out, size, "%s", msg);
		return;
	}
	size_t len = json_escape((const unsigned char *)fallback, strnlen(fallback, size / 6 - 1), out);
	out[len] = 0;
}

static pid_t spawn_runtime(char **argv, int in, int out, int err)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s\n", strerror(errno));
	if (pid == 0) {
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		signal(SIGPIPE, SIG_DFL);
		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		execvp(argv[0], argv);
		dprintf(2, "cannot run %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

static void run_delete(void)
{
	char *argv[] = { (char *)opt.runtime, "--root", (char *)opt.runtime_root, "delete", "--force", (char *)opt.id, NULL };
	int null = open("/dev/null", O_RDWR);
	pid_t pid = spawn_runtime(argv, null, null, null);
	close(null);
	waitpid(pid, NULL, 0);
}

static const char *signame(int sig)
{
	static char buf[16];
	const char *names[] = { [SIGHUP] = "SIGHUP", [SIGINT] = "SIGINT", [SIGQUIT] = "SIGQUIT", [SIGILL] = "SIGILL",
				[SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT", [SIGBUS] = "SIGBUS", [SIGFPE] = "SIGFPE",
				[SIGKILL] = "SIGKILL", [SIGUSR1] = "SIGUSR1", [SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2",
				[SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM", [SIGTERM] = "SIGTERM" };
	if (sig > 0 && sig < (int)(sizeof names / sizeof names[0]) && names[sig])
		return names[sig];
	snprintf(buf, sizeof buf, "SIG%d", sig);
	return buf;
}

static void record_exit(int status)
{
	char ts[64];
	now_rfc3339(ts, sizeof ts);
	if (WIFSIGNALED(status))
		snprintf(exit_json, sizeof exit_json, "{\"exitCode\":%d,\"signal\":\"%s\",\"finishedAt\":\"%s\"}\n",
			 128 + WTERMSIG(status), signame(WTERMSIG(status)), ts);
	else
		snprintf(exit_json, sizeof exit_json, "{\"exitCode\":%d,\"signal\":null,\"finishedAt\":\"%s\"}\n",
			 WEXITSTATUS(status), ts);
	/* atomically: a crash leaves no exit.json or a whole one */
	char *tmp = path_in_state(".exit.json.tmp"), *final = path_in_state("exit.json");
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		write_all(fd, exit_json, strlen(exit_json));
		fsync(fd);
		close(fd);
		rename(tmp, final);
	}
	free(tmp);
	free(final);
	exited = 1;
}

/* Receive the pty master runc sends over the console socket (SCM_RIGHTS). */
static int recv_master(int console_listen)
{
	struct pollfd p = { .fd = console_listen, .events = POLLIN };
	if (poll(&p, 1, 5000) <= 0)
		return -1;
	int conn = accept4(console_listen, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return -1;
	char data[4096];
	struct iovec iov = { .iov_base = data, .iov_len = sizeof data };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof cm.buf };
	int fd = -1;
	if (recvmsg(conn, &msg, 0) > 0) {
		struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
		if (h && h->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(h), sizeof fd);
	}
	close(conn);
	return fd;
}

static void parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name, field)                                     \
	if (strcmp(a, name) == 0) {                          \
		if (!v)                                      \
			die("%s needs a value\n", name);    \
		field = v;                                   \
		i++;                                         \
		continue;                                    \
	}
		ARG("--id", opt.id)
		ARG("--state-dir", opt.state)
		ARG("--bundle", opt.bundle)
		ARG("--exec", opt.exec_process)
		ARG("--runtime", opt.runtime)
		ARG("--runtime-root", opt.runtime_root)
		ARG("--log-path", opt.log_path)
#undef ARG
		if (strcmp(a, "--log-max-size") == 0 && v) {
			opt.log_max_size = atoll(v);
			i++;
		} else if (strcmp(a, "--log-max-file") == 0 && v) {
			opt.log_max_file = atoi(v);
			i++;
		} else if (strcmp(a, "--tty") == 0) {
			opt.tty = 1;
		} else if (strcmp(a, "--stdin") == 0) {
			opt.open_stdin = 1;
		} else if (strcmp(a, "--stdin-once") == 0) {
			opt.stdin_once = 1;
		} else if (strcmp(a, "--wait-attach") == 0) {
			opt.wait_attach = 1;
		} else {
			die("berth-shim: unknown argument %s\n", a);
		}
	}
	if (!opt.id || !opt.state || (!opt.bundle == !opt.exec_process) || !opt.runtime_root)
		die("usage: berth-shim --id ID --state-dir DIR --runtime-root DIR (--bundle DIR | --exec PROCESS_JSON) ...\n");
}

/* Serve attach clients until the first one has sent its header (exec: nothing may be lost). */
static void wait_first_attach(void)
{
	for (;;) {
		struct pollfd fds[MAX_CLIENTS + 1];
		int n = 0;
		fds[n++] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
		for (int i = 0; i < nclients; i++)
			fds[n++] = (struct pollfd){ .fd = clients[i].fd, .events = POLLIN };
		if (poll(fds, (nfds_t)n, -1) < 0)
			continue;
		if (fds[0].revents)
			accept_client();
		for (int i = nclients - 1; i >= 0; i--) {
			if (fds[i + 1].revents && clients[i].kind == K_HEADER) {
				handle_client_read(i);
				if (i < nclients && clients[i].kind == K_ATTACH)
					return;
			}
		}
	}
}

/* Run runc create / exec with the container's stdio; returns the container process's pid. */
static pid_t create_container(void)
{
	int pin[2] = { -1, -1 }, pout[2], perr[2], console_listen = -1;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	char *pidfile = path_in_state("init.pid"), *runclog = path_in_state("runc.log"), *console = NULL;
	if (opt.tty) {
		console = path_in_state("console.sock");
		console_listen = listen_unix(console);
		fcntl(console_listen, F_SETFL, 0);
	}
	if (pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0 || (opt.open_stdin && pipe2(pin, O_CLOEXEC) < 0))
		die("pipe: %s\n", strerror(errno));
	char *argv[32];
	int n = 0;
	argv[n++] = (char *)opt.runtime;
	argv[n++] = "--root";
	argv[n++] = (char *)opt.runtime_root;
	argv[n++] = "--log";
	argv[n++] = runclog;
	argv[n++] = "--log-format";
	argv[n++] = "json";
	if (opt.bundle) {
		argv[n++] = "create";
		argv[n++] = "--bundle";
		argv[n++] = (char *)opt.bundle;
	} else {
		argv[n++] = "exec";
		argv[n++] = "--detach";
		argv[n++] = "--process";
		argv[n++] = (char *)opt.exec_process;
	}
	argv[n++] = "--pid-file";
	argv[n++] = pidfile;
	if (console) {
		argv[n++] = "--console-socket";
		argv[n++] = console;
	}
	argv[n++] = (char *)opt.id;
	argv[n] = NULL;
	pid_t runc = opt.tty ? spawn_runtime(argv, null, null, perr[1])
			     : spawn_runtime(argv, opt.open_stdin ? pin[0] : null, pout[1], perr[1]);
	close(pout[1]);
	close(perr[1]);
	if (opt.open_stdin)
		close(pin[0]);
	int status = 0;
	while (waitpid(runc, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char out[8192] = "", err[4096] = "";
		fcntl(perr[0], F_SETFL, O_NONBLOCK);
		ssize_t k = read(perr[0], err, sizeof err - 1);
		err[k > 0 ? k : 0] = 0;
		runc_error(out, sizeof out, err[0] ? err : "runc failed without a message");
		sync_msg("{\"error\":\"%s\"}", out);
		unlink(path_in_state("attach.sock"));
		exit(1);
	}
	if (opt.tty) {
		master_fd = recv_master(console_listen);
		close(console_listen);
		unlink(console);
		if (master_fd < 0) {
			sync_msg("{\"error\":\"did not receive the container's terminal from the runtime\"}");
			exit(1);
		}
		fcntl(master_fd, F_SETFL, O_NONBLOCK);
		apply_winsize();
		close(pout[0]);
		close(perr[0]);
	} else {
		out_fd = pout[0];
		err_fd = perr[0];
		fcntl(out_fd, F_SETFL, O_NONBLOCK);
		fcntl(err_fd, F_SETFL, O_NONBLOCK);
		if (opt.open_stdin) {
			in_fd = pin[1];
			fcntl(in_fd, F_SETFL, O_NONBLOCK);
		}
	}
	close(null);
	FILE *f = fopen(pidfile, "r");
	int pid = 0;
	if (!f || fscanf(f, "%d", &pid) != 1 || pid <= 0) {
		sync_msg("{\"error\":\"the runtime wrote no pid file\"}");
		exit(1);
	}
	fclose(f);
	return pid;
}

static void flush_clients_and_exit(void)
{
	for (int i = 0; i < nclients; i++) {
		struct client *c = &clients[i];
		if (c->kind == K_WAIT)
			write_all(c->fd, exit_json, strlen(exit_json));
		else if (c->blen)
			write_all(c->fd, c->buf, c->blen);
		close(c->fd);
	}
	nclients = 0;
	char *sock = path_in_state("attach.sock");
	unlink(sock);
	free(sock);
	if (opt.bundle)
		run_delete();
	exit(0);
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	if (getsid(0) != getpid())
		setsid();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	fcntl(sync_fd, F_SETFD, FD_CLOEXEC);
	prctl(PR_SET_CHILD_SUBREAPER, 1);

	char *pidpath = path_in_state("shim.pid");
	FILE *pf = fopen(pidpath, "w");
	if (pf) {
		fprintf(pf, "%d\n", getpid());
		fclose(pf);
	}
	if (opt.log_path)
		open_log(0);

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

	char *sock = path_in_state("attach.sock");
	listen_fd = listen_unix(sock);
	sync_msg("{\"ready\":true}");
	if (opt.wait_attach)
		wait_first_attach();

	pid_t init = create_container();
	sync_msg("{\"pid\":%d}", init);
	close(sync_fd);

	long long drain_deadline = 0;
	for (;;) {
		struct pollfd fds[MAX_CLIENTS + 8];
		int n = 0, i_listen, i_sig, i_out = -1, i_err = -1, i_master = -1, i_in = -1, first_client;
		fds[i_listen = n++] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
		fds[i_sig = n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		if (out_fd >= 0)
			fds[i_out = n++] = (struct pollfd){ .fd = out_fd, .events = POLLIN };
		if (err_fd >= 0)
			fds[i_err = n++] = (struct pollfd){ .fd = err_fd, .events = POLLIN };
		if (master_fd >= 0)
			fds[i_master = n++] =
				(struct pollfd){ .fd = master_fd, .events = POLLIN | (opt.tty && stdin_plen ? POLLOUT : 0) };
		if (!opt.tty && in_fd >= 0 && stdin_plen)
			fds[i_in = n++] = (struct pollfd){ .fd = in_fd, .events = POLLOUT };
		first_client = n;
		for (int i = 0; i < nclients; i++) {
			short ev = 0;
			/* stop reading stdin from clients while the container is not taking it */
			if (!clients[i].read_closed && !(clients[i].want_stdin && stdin_plen))
				ev |= POLLIN;
			if (clients[i].blen)
				ev |= POLLOUT;
			fds[n++] = (struct pollfd){ .fd = clients[i].fd, .events = ev };
		}
		int outputs_open = out_fd >= 0 || err_fd >= 0 || master_fd >= 0;
		if (exited && !outputs_open)
			flush_clients_and_exit();
		int timeout = -1;
		if (exited) {
			/* after the exit, give children that hold the pipes open a moment, then stop */
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			long long now = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
			if (!drain_deadline)
				drain_deadline = now + 500;
			if (now >= drain_deadline)
				flush_clients_and_exit();
			timeout = (int)(drain_deadline - now);
		}
		if (poll(fds, (nfds_t)n, timeout) < 0 && errno != EINTR)
			die("poll: %s\n", strerror(errno));

		if (i_out >= 0 && fds[i_out].revents)
			handle_output(out_fd, 1);
		if (i_err >= 0 && fds[i_err].revents)
			handle_output(err_fd, 2);
		if (i_master >= 0 && fds[i_master].revents & (POLLIN | POLLHUP | POLLERR))
			handle_output(master_fd, 1);
		int stdin_target = opt.tty ? master_fd : in_fd;
		if (stdin_plen && stdin_target >= 0 &&
		    ((i_in >= 0 && fds[i_in].revents) || (i_master >= 0 && fds[i_master].revents & POLLOUT))) {
			ssize_t k = write(stdin_target, stdin_pending, stdin_plen);
			if (k > 0) {
				memmove(stdin_pending, stdin_pending + k, stdin_plen - (size_t)k);
				stdin_plen -= (size_t)k;
			} else if (k < 0 && errno != EAGAIN) {
				stdin_plen = 0;
			}
			if (!stdin_plen && stdin_close_pending)
				close_stdin();
		}
		/* clients: walk backwards, since dropping one moves the last into its slot */
		for (int i = nclients - 1; i >= 0; i--) {
			int r = fds[first_client + i].revents;
			if (!r || i >= nclients)
				continue;
			struct client *c = &clients[i];
			if (r & POLLOUT && c->blen) {
				ssize_t k = write(c->fd, c->buf, c->blen);
				if (k < 0 && errno != EAGAIN) {
					drop_client(i);
					continue;
				}
				if (k > 0) {
					memmove(c->buf, c->buf + k, c->blen - (size_t)k);
					c->blen -= (size_t)k;
				}
			}
			if (r & (POLLIN | POLLHUP | POLLERR))
				handle_client_read(i);
		}
		if (fds[i_listen].revents)
			accept_client();
		if (fds[i_sig].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof si) > 0)
				;
			int status;
			pid_t p;
			while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
				/* wait clients are answered on the way out, after the output is flushed */
				if (p == init && !exited)
					record_exit(status);
			}
		}
	}
}
