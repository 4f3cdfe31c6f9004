/*
 * berth-shim: the per-container monitor.
 *
 * berthd starts one shim per container (and per exec). The shim runs `runc create` (or
 * `runc exec --detach`), becomes the subreaper of the container's process, and from then on owns
 * its stdio: it writes Docker's json-file log (with max-size/max-file rotation), serves attach
 * clients on STATE/attach.sock, and records the exit status in STATE/exit.json. So containers keep
 * running and logging while berthd is stopped or restarted.
 *
 * Log rotation (Docker's names): FILE is written; at max-size FILE.(N-2) → FILE.(N-1), …, FILE → FILE.1.
 * With --log-compress the rotated files are FILE.1.gz, FILE.2.gz, …: each fresh FILE.1 is compressed in
 * the background by a child (this binary again, `--compress-log`, running gzip), so the container's output
 * never waits for compression. The child places FILE.K.gz wherever its source has moved to by then (found by
 * inode, under an flock on the log directory that rotation also takes), so rotations in a row never race;
 * a source rotated out before its compression ended is dropped with its child. A file whose compression
 * did not finish stays plain: readers take FILE.K or FILE.K.gz, whichever exists. Why not conmon: its attach socket is
 * SOCK_SEQPACKET (Node cannot open one) and it writes k8s-file logs, not Docker's json-file.
 *
 * Protocol with berthd:
 *   fd 3 (sync pipe): {"ready":true} once attach.sock listens, then {"pid":N} or {"error":"..."}.
 *   attach.sock, one header line per connection:
 *     "attach [stdin] [stdout] [stderr]"  output framed like Docker's stdcopy (raw with a tty);
 *                                          bytes sent after the header go to the container's stdin
 *     "resize ROWS COLS"                   set the terminal size; answers "ok"
 *     "wait"                               answers the exit.json line when the process has exited, and
 *                                          closes once the runtime's container is deleted (container mode)
 *     "start"                              with --start-on-request: make the container now, created
 *                                          and started by one `runc run --detach` (attaches connected
 *                                          before it miss nothing); until then no container exists, and
 *                                          berthd closing the sync pipe makes the shim leave
 *     "probe"                              runs the health probe of --probe-spec (see below) and answers
 *                                          "exit N\n" then its output (the first 4096 bytes), or
 *                                          "unsupported\n" (berthd then probes with `runc exec`);
 *                                          closing the connection early kills the probe
 *   On exit: exit.json is written and attach.sock removed, wait clients get the exit line and attach
 *   clients their last output, then the runc container is deleted (container mode) and shim.pid removed
 *   *before* the wait connections close, so berthd may reuse the id and state dir once they have.
 *
 * Health probes (--probe-spec FILE, written by berthd): a probe every second through `runc exec` costs
 * ~30 ms of CPU (two Go programs, the seccomp profile compiled again each time), so the shim runs it the
 * way runc exec would, from a fork of itself: join the container's cgroups, session keyring and
 * namespaces (fork again for the PID namespace), then — as runc's setns init does — rlimits,
 * no_new_privs, the bounding set, groups/gid/uid, the capability sets, the working directory, and the
 * container's seccomp filter, then execve. The filter is the container's own, compiled BPF, read once
 * from its init process with PTRACE_SECCOMP_GET_FILTER right after `runc create` (before any of the
 * image's code has run, so it is runc's filter and only that one). The fork is not dumpable while it
 * runs shim code in the container, its descriptors are closed before it enters, and anything unusual
 * (a user or time namespace, more than one filter, a ptrace failure) turns the fast path off: then
 * "probe" answers "unsupported" and berthd falls back to `runc exec`.
 *
 * One poll() loop, no threads, fixed buffers: a shim costs well under 1.5 MiB of RSS.
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
#include <grp.h>
#include <sched.h>
#include <libgen.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/file.h>
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

#define MAX_CLIENTS 128
#define CLIENT_BUF_MAX (1 << 20) /* a client this far behind is dropped, never the container */
#define LOG_LINE_MAX 16384       /* Docker's json-file buffer: longer lines become several records */
#define STDIN_BUF_MAX (1 << 20)
#define DRAIN_MS 500             /* after the exit, how long children holding the pipes may keep them */
#define FLUSH_MS 2000            /* on the way out, how long a client may take to read what it is owed */

enum { K_HEADER, K_ATTACH, K_WAIT, K_PROBE };

struct client {
	int fd;
	int kind;
	int dead; /* dropped this iteration; compacted away at the top of the next */
	int want_stdin, want_out, want_err;
	int read_closed;
	char hdr[256];
	size_t hlen;
	char *buf;
	size_t blen, bcap;
	/* K_PROBE: the probe's process (a fork of ours), its output pipe, what it printed, its status */
	pid_t probe_pid;
	int probe_fd;
	int probe_exited, probe_status;
	char *pout;
	size_t poutlen;
};

struct logstream {
	const char *name;
	char line[LOG_LINE_MAX];
	size_t len;
};

static struct {
	const char *id, *state, *bundle, *exec_process, *runtime, *runtime_root;
	const char *log_path;
	const char *oom_file; /* memory.oom_control (v1) or memory.events (v2) of the container's cgroup */
	const char *probe_spec;
	long long log_max_size;
	int log_max_file;
	int log_compress;
	int tty, open_stdin, stdin_once, wait_attach, start_on_request;
} opt = { .runtime = "/usr/sbin/runc", .log_max_file = 1 };

static struct client clients[MAX_CLIENTS];
static int nclients;
static int listen_fd = -1, sync_fd = 3;
static int out_fd = -1, err_fd = -1, in_fd = -1, master_fd = -1;
static int started; /* the runtime has handed us the container's stdio */
static int log_fd = -1;
static long long log_size;
static struct logstream log_out = { .name = "stdout" }, log_err = { .name = "stderr" };
static int log_dir_fd = -1; /* flock'd while rotating, so compression children place files safely */

/* Background compressions of rotated files (see the comment at the top). */
#define MAX_GZ_JOBS 16
static struct gzjob {
	pid_t pid;
	ino_t ino;
	char tmp[4200];
} gz_jobs[MAX_GZ_JOBS];
static int n_gz_jobs;
static unsigned gz_seq;
static char io_buf[32768];
static char *stdin_pending;
static size_t stdin_plen, stdin_pcap;
static int stdin_close_pending;
static int pending_rows, pending_cols;
static char exit_json[256];
static int exited;
static int start_requested; /* "start" arrived (--start-on-request) */
static double trace_t_started, trace_t_exit; /* when the process was created, when its exit was seen */
static int finishing; /* wait clients are answered only at the very end of finish() */

static char *path_in_state(const char *name);
static void record_exit(int status);

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* BERTH_TRACE=FILE (inherited from berthd): one JSON line per finished phase, as src/lib/trace.ts writes. */
static const char *trace_file;

static double trace_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void trace_span(const char *name, double start)
{
	if (!trace_file)
		return;
	int fd = open(trace_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	dprintf(fd, "{\"p\":%d,\"n\":\"%s\",\"s\":%.3f,\"e\":%.3f}\n", getpid(), name, start, trace_now());
	close(fd);
}

/* Write everything, waiting for a non-blocking fd, but give up at the deadline (0 = never). */
static int write_until(int fd, const char *buf, size_t len, long long deadline)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -1;
			long long left = deadline ? deadline - now_ms() : 1000;
			if (left <= 0)
				return -1;
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			poll(&p, 1, (int)(left > 1000 ? 1000 : left));
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void write_all(int fd, const char *buf, size_t len)
{
	write_until(fd, buf, len, 0);
}

static void sync_msg(const char *fmt, ...)
{
	if (sync_fd < 0)
		return;
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

/* Fatal setup errors go to berthd over the sync pipe too: our stderr is usually /dev/null. */
static void die(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			*p = ' ';
	sync_msg("{\"error\":\"berth-shim: %s\"}", msg);
	fprintf(stderr, "berth-shim: %s\n", msg);
	if (listen_fd >= 0)
		unlink(path_in_state("attach.sock"));
	exit(1);
}

static char *path_in_state(const char *name)
{
	char *p;
	if (asprintf(&p, "%s/%s", opt.state, name) < 0)
		exit(1);
	return p;
}

/* JSON string escaping byte-for-byte as dockerd's json-file writer does it: only \n and \r get short
 * escapes (a tab is \u0009), <>& and other control bytes are \u00XX, invalid UTF-8 → \ufffd. */
static size_t json_escape(const unsigned char *s, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		if (c < 0x80) {
			if (c == '"' || c == '\\') {
				out[o++] = '\\';
				out[o++] = (char)c;
			} else if (c == '\n') {
				out[o++] = '\\';
				out[o++] = 'n';
			} else if (c == '\r') {
				out[o++] = '\\';
				out[o++] = 'r';
			} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
				memcpy(out + o, "\\u00", 4);
				out[o + 4] = hex[c >> 4];
				out[o + 5] = hex[c & 15];
				o += 6;
			} else {
				out[o++] = (char)c;
			}
			i++;
			continue;
		}
		/* a multi-byte UTF-8 sequence: copy it if valid (shortest form, no surrogates, ≤ U+10FFFF) */
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
			memcpy(out + o, "\\ufffd", 6);
			o += 6;
			i++;
		} else if (cp == 0x2028 || cp == 0x2029) {
			o += (size_t)sprintf(out + o, "\\u%04x", cp);
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
	if (log_dir_fd < 0) {
		char dirbuf[4096];
		snprintf(dirbuf, sizeof dirbuf, "%s", opt.log_path);
		log_dir_fd = open(dirname(dirbuf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	log_fd = open(opt.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0640);
	if (log_fd < 0)
		return;
	struct stat st;
	log_size = fstat(log_fd, &st) == 0 ? st.st_size : 0;
}

static void rotated_name(char *buf, size_t size, int i, int gz)
{
	snprintf(buf, size, "%s.%d%s", opt.log_path, i, gz ? ".gz" : "");
}

/* Stop the compression of a file that is being rotated out; its temporary output goes too. */
static void drop_gz_jobs_for(ino_t ino)
{
	for (int i = 0; i < n_gz_jobs;) {
		if (gz_jobs[i].ino != ino) {
			i++;
			continue;
		}
		kill(-gz_jobs[i].pid, SIGKILL); /* the child and its gzip: a process group of their own */
		unlink(gz_jobs[i].tmp);
		gz_jobs[i] = gz_jobs[--n_gz_jobs]; /* the zombie is reaped by reap_children(), pid unknown then */
	}
}

static void gz_job_exited(pid_t pid)
{
	for (int i = 0; i < n_gz_jobs; i++)
		if (gz_jobs[i].pid == pid) {
			gz_jobs[i] = gz_jobs[--n_gz_jobs];
			return;
		}
}

/* Compress FILE.1 (just rotated) in a child: `berth-shim --compress-log`, stdin = the file, stdout = a
 * temporary file created here (so a killed child can leave nothing behind that we do not unlink). */
static void start_compression(void)
{
	if (n_gz_jobs == MAX_GZ_JOBS)
		return; /* stays plain */
	char src_name[4096], exe[4096];
	rotated_name(src_name, sizeof src_name, 1, 0);
	int src = open(src_name, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (src < 0 || fstat(src, &st) < 0) {
		if (src >= 0)
			close(src);
		return;
	}
	struct gzjob *j = &gz_jobs[n_gz_jobs];
	snprintf(j->tmp, sizeof j->tmp, "%s.gz-tmp-%d-%u", opt.log_path, (int)getpid(), gz_seq++);
	int out = open(j->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	ssize_t elen = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (out < 0 || elen <= 0) {
		if (out >= 0) {
			close(out);
			unlink(j->tmp);
		}
		close(src);
		return;
	}
	exe[elen] = 0;
	char maxfile[16], ino[32], size[32];
	snprintf(maxfile, sizeof maxfile, "%d", opt.log_max_file);
	snprintf(ino, sizeof ino, "%llu", (unsigned long long)st.st_ino);
	snprintf(size, sizeof size, "%lld", (long long)st.st_size);
	char *argv[] = { exe, "--compress-log", (char *)opt.log_path, maxfile, ino, size, j->tmp, NULL };
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int sigs[] = { SIGPIPE, SIGHUP, SIGINT, SIGTERM };
		for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
			signal(sigs[i], SIG_DFL);
		dup2(src, 0);
		dup2(out, 1);
		execv(exe, argv);
		_exit(127);
	}
	close(src);
	close(out);
	if (pid < 0) {
		unlink(j->tmp);
		return;
	}
	setpgid(pid, pid); /* also here: a kill right after the fork must reach the group */
	j->pid = pid;
	j->ino = st.st_ino;
	n_gz_jobs++;
}

/* Docker's rotation: FILE.(N-2) → FILE.(N-1), …, FILE → FILE.1, fresh FILE; with max-file 1 truncate.
 * Each index holds FILE.K or FILE.K.gz (see the top): both forms are shifted. */
static void rotate_log(void)
{
	if (opt.log_max_file <= 1) {
		if (ftruncate(log_fd, 0) == 0)
			log_size = 0;
		return;
	}
	close(log_fd);
	log_fd = -1;
	if (log_dir_fd >= 0)
		flock(log_dir_fd, LOCK_EX);
	char from[4096], to[4096];
	rotated_name(to, sizeof to, opt.log_max_file - 1, 0);
	struct stat st;
	if (opt.log_compress && stat(to, &st) == 0)
		drop_gz_jobs_for(st.st_ino);
	unlink(to);
	rotated_name(to, sizeof to, opt.log_max_file - 1, 1);
	unlink(to);
	for (int i = opt.log_max_file - 1; i >= 1; i--) {
		for (int gz = 0; gz <= 1; gz++) {
			if (i == 1 && gz)
				continue;
			if (i == 1)
				snprintf(from, sizeof from, "%s", opt.log_path);
			else
				rotated_name(from, sizeof from, i - 1, gz);
			rotated_name(to, sizeof to, i, gz);
			rename(from, to);
		}
	}
	open_log(1);
	if (log_dir_fd >= 0)
		flock(log_dir_fd, LOCK_UN);
	if (opt.log_compress)
		start_compression();
}

/* `berth-shim --compress-log FILE MAX_FILE INODE SIZE TMP`, stdin = the rotated file, stdout = TMP:
 * gzip it, then, under the log directory's lock, find where the source lives now (it may have been
 * shifted by later rotations) and put FILE.K.gz in its place. */
static int compress_main(int argc, char **argv)
{
	if (argc != 7)
		return 2;
	const char *log = argv[2], *tmp = argv[6];
	int max_file = atoi(argv[3]);
	unsigned long long ino = strtoull(argv[4], NULL, 10);
	long long size = atoll(argv[5]);
	pid_t gz = fork();
	if (gz == 0) {
		execlp("gzip", "gzip", "-c", "-n", (char *)NULL);
		_exit(127);
	}
	int status = 0;
	while (gz > 0 && waitpid(gz, &status, 0) < 0 && errno == EINTR)
		;
	int ok = gz > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && fsync(1) == 0;
	char dirbuf[4096];
	snprintf(dirbuf, sizeof dirbuf, "%s", log);
	int dfd = open(dirname(dirbuf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		flock(dfd, LOCK_EX);
	int placed = 0;
	for (int i = 1; ok && i < max_file; i++) {
		char plain[4096], packed[4096];
		snprintf(plain, sizeof plain, "%s.%d", log, i);
		struct stat st;
		if (stat(plain, &st) < 0 || st.st_ino != ino)
			continue;
		if (st.st_size == size) {
			snprintf(packed, sizeof packed, "%s.%d.gz", log, i);
			if (rename(tmp, packed) == 0) {
				unlink(plain);
				placed = 1;
			}
		}
		break;
	}
	if (!placed)
		unlink(tmp);
	if (dfd >= 0)
		close(dfd); /* releases the lock */
	return 0;
}

/* One json-file record, written with a single write(2) so a live reader never sees a mix. */
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
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) + 1 : len;
		if (take > LOG_LINE_MAX - ls->len)
			take = LOG_LINE_MAX - ls->len;
		memcpy(ls->line + ls->len, data, take);
		ls->len += take;
		data += take;
		len -= take;
		if (ls->line[ls->len - 1] == '\n' || ls->len == LOG_LINE_MAX) {
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

/* Mark a client dropped; slots are compacted only between iterations so poll indices stay valid. */
static void drop_client(int i)
{
	struct client *c = &clients[i];
	if (c->dead)
		return;
	if (c->kind == K_PROBE) {
		if (c->probe_pid > 0 && !c->probe_exited)
			kill(c->probe_pid, SIGTERM); /* the fork kills the probe's process group */
		if (c->probe_fd >= 0)
			close(c->probe_fd);
		free(c->pout);
		c->pout = NULL;
	}
	close(c->fd);
	free(c->buf);
	c->buf = NULL;
	c->blen = c->bcap = 0;
	c->dead = 1;
}

static void compact_clients(void)
{
	int j = 0;
	for (int i = 0; i < nclients; i++)
		if (!clients[i].dead)
			clients[j++] = clients[i];
	nclients = j;
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
		size_t cap = (c->blen + len) * 2;
		char *nb = realloc(c->buf, cap);
		if (!nb)
			return -1;
		c->buf = nb;
		c->bcap = cap;
	}
	memcpy(c->buf + c->blen, data, len);
	c->blen += len;
	return 0;
}

/* Send what a client is owed; a drained big buffer is given back so RSS returns to its floor. */
static int client_flush(struct client *c)
{
	ssize_t k = write(c->fd, c->buf, c->blen);
	if (k < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	memmove(c->buf, c->buf + k, c->blen - (size_t)k);
	c->blen -= (size_t)k;
	if (c->blen == 0 && c->bcap > 65536) {
		free(c->buf);
		c->buf = NULL;
		c->bcap = 0;
	}
	return 0;
}

static void broadcast(int stream, const char *data, size_t len)
{
	unsigned char head[8] = { (unsigned char)stream, 0, 0, 0, (unsigned char)(len >> 24), (unsigned char)(len >> 16),
				  (unsigned char)(len >> 8), (unsigned char)len };
	for (int i = 0; i < nclients; i++) {
		struct client *c = &clients[i];
		if (c->dead || c->kind != K_ATTACH || !(stream == 1 ? c->want_out : c->want_err))
			continue;
		if ((!opt.tty && client_queue(c, (const char *)head, 8) < 0) || client_queue(c, data, len) < 0)
			drop_client(i);
	}
}

static void close_output(int fd)
{
	if (fd == err_fd) {
		log_flush(&log_err);
		err_fd = -1;
	} else {
		log_flush(&log_out);
		if (fd == out_fd)
			out_fd = -1;
		else
			master_fd = -1;
	}
	close(fd);
}

/* Read one chunk of output; returns 0 when nothing more is there right now. */
static int handle_output(int fd)
{
	int stream = fd == err_fd ? 2 : 1;
	ssize_t n = read(fd, io_buf, sizeof io_buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		/* EOF, or EIO on a pty whose slave side is closed */
		close_output(fd);
		return 0;
	}
	log_data(stream == 1 ? &log_out : &log_err, io_buf, (size_t)n);
	broadcast(stream, io_buf, (size_t)n);
	return 1;
}

/* At the very end: whatever the pipes already hold is still logged and sent. */
static void drain_outputs(void)
{
	while (out_fd >= 0 && handle_output(out_fd))
		;
	while (err_fd >= 0 && handle_output(err_fd))
		;
	while (master_fd >= 0 && handle_output(master_fd))
		;
}

static void close_stdin(void)
{
	if (!started) {
		stdin_close_pending = 1; /* applied once the container's stdin exists */
		return;
	}
	if (in_fd >= 0 && !opt.tty)
		close(in_fd);
	in_fd = -1;
	stdin_close_pending = 0;
}

/* Queue input for the container; before it started (exec with --wait-attach) it is held. */
static void send_stdin(const char *data, size_t len)
{
	int fd = opt.tty ? master_fd : in_fd;
	if (started && fd < 0)
		return;
	if (started && stdin_plen == 0) {
		ssize_t n = write(fd, data, len);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
		}
	}
	if (len == 0 || stdin_plen + len > STDIN_BUF_MAX)
		return;
	if (stdin_plen + len > stdin_pcap) {
		size_t cap = (stdin_plen + len) * 2;
		char *nb = realloc(stdin_pending, cap);
		if (!nb)
			return;
		stdin_pending = nb;
		stdin_pcap = cap;
	}
	memcpy(stdin_pending + stdin_plen, data, len);
	stdin_plen += len;
}

static void flush_stdin(void)
{
	int fd = opt.tty ? master_fd : in_fd;
	if (fd < 0 || !stdin_plen)
		return;
	ssize_t k = write(fd, stdin_pending, stdin_plen);
	if (k > 0) {
		memmove(stdin_pending, stdin_pending + k, stdin_plen - (size_t)k);
		stdin_plen -= (size_t)k;
	} else if (k < 0 && errno != EAGAIN && errno != EINTR) {
		stdin_plen = 0; /* the container closed its stdin */
	}
	if (!stdin_plen && stdin_close_pending)
		close_stdin();
}

static void apply_winsize(void)
{
	if (master_fd < 0 || pending_rows <= 0)
		return;
	struct winsize ws = { .ws_row = (unsigned short)pending_rows, .ws_col = (unsigned short)pending_cols };
	ioctl(master_fd, TIOCSWINSZ, &ws);
}

/* ---------------------------------------------------------------- health probes (see the top) */

#define PROBE_OUT_MAX 4096
#define PROBE_SETUP_FAILED SIGUSR2 /* the fork dies of it when it could not enter: "unsupported" */

static pid_t init_pid;
static int probe_ok;
static struct sock_filter *probe_filter; /* NULL: the container has no seccomp filter */
static unsigned short probe_filter_len;
static int probe_filter_pending; /* runc installs it after `runc create` (no_new_privs): read at the first probe */
static struct {
	char **argv, **env;
	int argc, envc;
	char *cwd;
	uid_t uid;
	gid_t gid;
	gid_t groups[256];
	int ngroups;
	unsigned long long cap_bnd, cap_eff, cap_prm, cap_inh, cap_amb;
	struct {
		int res;
		struct rlimit rl;
	} rlim[32];
	int nrlim;
	int nnp, oom_set, oom;
	int seccomp; /* the container has a seccomp profile (config.json linux.seccomp) */
} ps;
static int cap_last = 40;
static volatile pid_t probe_grandchild;

static int push_str(char ***list, int *n, char *v)
{
	char **nl = realloc(*list, sizeof(char *) * (size_t)(*n + 2));
	if (!nl)
		return -1;
	nl[(*n)++] = v;
	nl[*n] = NULL;
	*list = nl;
	return 0;
}

/* The spec: NUL-separated key/value pairs (arg, env, cwd, uid, gid, group, cap.*, rlimit, nnp, oom). */
static int load_probe_spec(const char *file)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size > (1 << 20)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char *data = malloc((size_t)st.st_size + 1);
	ssize_t got = data ? read(fd, data, (size_t)st.st_size) : -1;
	close(fd);
	if (!data || got <= 0 || got != st.st_size) {
		free(data);
		return -1;
	}
	data[got] = 0;
	ps.cwd = "/";
	for (char *p = data; p < data + got;) {
		char *k = p;
		p += strlen(p) + 1;
		if (p >= data + got)
			return -1;
		char *v = p;
		p += strlen(p) + 1;
		if (!strcmp(k, "arg")) {
			if (push_str(&ps.argv, &ps.argc, v) < 0)
				return -1;
		} else if (!strcmp(k, "env")) {
			if (push_str(&ps.env, &ps.envc, v) < 0)
				return -1;
		} else if (!strcmp(k, "cwd")) {
			ps.cwd = v;
		} else if (!strcmp(k, "uid")) {
			ps.uid = (uid_t)strtoul(v, NULL, 10);
		} else if (!strcmp(k, "gid")) {
			ps.gid = (gid_t)strtoul(v, NULL, 10);
		} else if (!strcmp(k, "group")) {
			if (ps.ngroups == (int)(sizeof ps.groups / sizeof ps.groups[0]))
				return -1;
			ps.groups[ps.ngroups++] = (gid_t)strtoul(v, NULL, 10);
		} else if (!strncmp(k, "cap.", 4)) {
			unsigned long long m = strtoull(v, NULL, 16);
			if (!strcmp(k, "cap.bounding"))
				ps.cap_bnd = m;
			else if (!strcmp(k, "cap.effective"))
				ps.cap_eff = m;
			else if (!strcmp(k, "cap.permitted"))
				ps.cap_prm = m;
			else if (!strcmp(k, "cap.inheritable"))
				ps.cap_inh = m;
			else if (!strcmp(k, "cap.ambient"))
				ps.cap_amb = m;
		} else if (!strcmp(k, "rlimit")) {
			unsigned long long soft, hard;
			int res;
			if (ps.nrlim == 32 || sscanf(v, "%d %llu %llu", &res, &soft, &hard) != 3)
				return -1;
			ps.rlim[ps.nrlim].res = res;
			ps.rlim[ps.nrlim].rl.rlim_cur = (rlim_t)soft;
			ps.rlim[ps.nrlim++].rl.rlim_max = (rlim_t)hard;
		} else if (!strcmp(k, "seccomp")) {
			ps.seccomp = atoi(v);
		} else if (!strcmp(k, "nnp")) {
			ps.nnp = atoi(v);
		} else if (!strcmp(k, "oom")) {
			ps.oom_set = 1;
			ps.oom = atoi(v);
		}
	}
	return ps.argc > 0 ? 0 : -1;
}

static long status_field(pid_t pid, const char *name)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	long v = -1;
	size_t n = strlen(name);
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, name, n) && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	if (f)
		fclose(f);
	return v;
}

static int same_ns(pid_t pid, const char *ns)
{
	char a[64], b[64];
	struct stat sa, sb;
	snprintf(a, sizeof a, "/proc/self/ns/%s", ns);
	snprintf(b, sizeof b, "/proc/%d/ns/%s", (int)pid, ns);
	if (stat(b, &sb) < 0)
		return errno == ENOENT; /* a kernel without that namespace type */
	return stat(a, &sa) == 0 && sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

/* Read the container's seccomp filter — runc's, the only one its init has — from the init, stopped for
 * a moment with ptrace. 1 = not installed yet (try again later), 0 = done, -1 = cannot. */
static int fetch_seccomp_filter(pid_t pid)
{
	long mode = status_field(pid, "Seccomp");
	if (mode == 0)
		return 1;
	if (mode != 2 || status_field(pid, "Seccomp_filters") != 1)
		return -1;
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0)
		return -1;
	int rc = -1, st = 0;
	if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) == 0) {
		while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR)
			;
		if ((WIFEXITED(st) || WIFSIGNALED(st)) && !exited) {
			record_exit(st); /* it ended meanwhile: this was its exit status, not a stop */
			return -1;
		}
		long n = WIFSTOPPED(st) ? ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, NULL) : -1;
		if (n > 0 && n < BPF_MAXINSNS + 1) {
			probe_filter = calloc((size_t)n, sizeof *probe_filter);
			if (probe_filter && ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, probe_filter) == n) {
				probe_filter_len = (unsigned short)n;
				rc = 0;
			}
		}
	}
	ptrace(PTRACE_DETACH, pid, 0, 0);
	return rc;
}

static void setup_probes(pid_t init)
{
	init_pid = init;
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	if (f) {
		if (fscanf(f, "%d", &cap_last) != 1)
			cap_last = 40;
		fclose(f);
	}
	if (load_probe_spec(opt.probe_spec) < 0 || !same_ns(init, "user") || !same_ns(init, "time"))
		return;
	if (ps.seccomp) {
		int r = fetch_seccomp_filter(init);
		if (r < 0)
			return;
		probe_filter_pending = r == 1;
	} else if (status_field(init, "Seccomp") != 0) {
		return; /* a filter berthd did not ask for: do not guess */
	}
	probe_ok = 1;
}

/* Put ourselves into every cgroup of the container's init (host paths: before entering its mounts). */
static int join_cgroups(pid_t pid)
{
	char path[64], line[1024];
	snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = 0;
		const char *ctrl = c1 + 1, *cpath = c2 + 1;
		char dir[2048], procs[2200];
		if (!*ctrl) {
			struct stat st;
			snprintf(dir, sizeof dir, "/sys/fs/cgroup/unified%s", cpath);
			if (stat("/sys/fs/cgroup/unified/cgroup.procs", &st) < 0)
				snprintf(dir, sizeof dir, "/sys/fs/cgroup%s", cpath);
		} else {
			snprintf(dir, sizeof dir, "/sys/fs/cgroup/%s%s", strncmp(ctrl, "name=", 5) ? ctrl : ctrl + 5, cpath);
		}
		snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
		int fd = open(procs, O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			if (errno != ENOENT)
				rc = -1; /* a hierarchy not mounted where we look is skipped, a refusal is not */
			continue;
		}
		if (write(fd, "0", 1) != 1)
			rc = -1;
		close(fd);
	}
	fclose(f);
	return rc;
}

static void probe_term(int sig)
{
	(void)sig;
	if (probe_grandchild > 0) {
		kill(-probe_grandchild, SIGKILL);
		kill(probe_grandchild, SIGKILL);
	}
}

static void load_filter(void)
{
	if (!probe_filter)
		return;
	struct sock_fprog prog = { .len = probe_filter_len, .filter = probe_filter };
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
		dprintf(1, "unable to start container process: error loading seccomp filter: %s", strerror(errno));
		_exit(126);
	}
}

/* In the container's PID namespace: the rest of runc's setns init, then the probe. */
static void probe_exec(void)
{
	setsid();
	for (int i = 0; i < ps.nrlim; i++)
		if (setrlimit(ps.rlim[i].res, &ps.rlim[i].rl) < 0) {
			dprintf(1, "unable to start container process: error setting rlimit type %d: %s", ps.rlim[i].res, strerror(errno));
			_exit(126);
		}
	if (ps.nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(126);
	if (!ps.nnp)
		load_filter(); /* while we may (CAP_SYS_ADMIN), as runc does without no_new_privs */
	for (int cap = 0; cap <= cap_last; cap++)
		if (!(ps.cap_bnd >> cap & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			_exit(126);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups((size_t)ps.ngroups, ps.groups) < 0 ||
	    setresgid(ps.gid, ps.gid, ps.gid) < 0 || setresuid(ps.uid, ps.uid, ps.uid) < 0 || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) {
		dprintf(1, "unable to start container process: setting the user: %s", strerror(errno));
		_exit(126);
	}
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2] = {
		{ (unsigned)ps.cap_eff, (unsigned)ps.cap_prm, (unsigned)ps.cap_inh },
		{ (unsigned)(ps.cap_eff >> 32), (unsigned)(ps.cap_prm >> 32), (unsigned)(ps.cap_inh >> 32) },
	};
	if (syscall(SYS_capset, &hdr, data) < 0) {
		dprintf(1, "unable to start container process: unable to apply caps: %s", strerror(errno));
		_exit(126);
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (int cap = 0; cap <= cap_last; cap++)
		if (ps.cap_amb >> cap & 1)
			prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
	if (chdir(ps.cwd) < 0) {
		dprintf(1, "unable to start container process: chdir to cwd (\"%s\") set in config.json failed: %s", ps.cwd, strerror(errno));
		_exit(126);
	}
	if (ps.nnp)
		load_filter(); /* as late as possible */
	extern char **environ;
	environ = ps.env ? ps.env : (char *[]){ NULL };
	execvp(ps.argv[0], ps.argv);
	int e = errno;
	if (e == ENOENT && !strchr(ps.argv[0], '/'))
		dprintf(1, "OCI runtime exec failed: exec failed: unable to start container process: exec: \"%s\": executable file not found in $PATH: unknown", ps.argv[0]);
	else
		dprintf(1, "OCI runtime exec failed: exec failed: unable to start container process: exec: \"%s\": %s: unknown", ps.argv[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

/* The fork: not dumpable, nothing of ours open, into the container's cgroups, keyring, namespaces. */
static void probe_child(int out)
{
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	sigset_t all, none;
	sigfillset(&all);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &all, NULL); /* SIGTERM waits for the grandchild's pid */
	int sigs[] = { SIGPIPE, SIGHUP, SIGINT, SIGTERM, SIGCHLD };
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		signal(sigs[i], SIG_DFL);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		raise(PROBE_SETUP_FAILED);
	if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0) /* before Linux 5.9: one by one */
		for (int fd = 3; fd < 65536; fd++)
			close(fd);
	if (ps.oom_set) {
		int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			dprintf(fd, "%d", ps.oom);
			close(fd);
		}
	}
	if (join_cgroups(init_pid) < 0)
		raise(PROBE_SETUP_FAILED);
	char ring[128];
	snprintf(ring, sizeof ring, "_ses.%s", opt.id);
	if (syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, ring) < 0 && errno != ENOSYS)
		raise(PROBE_SETUP_FAILED);
	static const char *const nss[] = { "ipc", "uts", "net", "cgroup", "pid", "mnt" };
	int fds[6];
	for (int i = 0; i < 6; i++) {
		char p[64];
		snprintf(p, sizeof p, "/proc/%d/ns/%s", (int)init_pid, nss[i]);
		fds[i] = open(p, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0 && !(errno == ENOENT && !strcmp(nss[i], "cgroup")))
			raise(PROBE_SETUP_FAILED);
	}
	for (int i = 0; i < 6; i++) {
		if (fds[i] < 0)
			continue;
		if (setns(fds[i], 0) < 0)
			raise(PROBE_SETUP_FAILED);
		close(fds[i]);
	}
	struct sigaction sa = { .sa_handler = probe_term };
	sigaction(SIGTERM, &sa, NULL);
	pid_t g = fork();
	if (g == 0) {
		signal(SIGTERM, SIG_DFL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		probe_exec();
	}
	if (g < 0)
		raise(PROBE_SETUP_FAILED);
	probe_grandchild = g;
	sigprocmask(SIG_SETMASK, &none, NULL);
	int st = 0;
	while (waitpid(g, &st, 0) < 0 && errno == EINTR)
		;
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

static void answer(struct client *c, const char *s)
{
	write_until(c->fd, s, strlen(s), now_ms() + 1000);
}

static void start_probe(int idx)
{
	struct client *c = &clients[idx];
	c->kind = K_PROBE;
	c->probe_fd = -1;
	c->probe_pid = -1;
	int p[2];
	if (probe_ok && probe_filter_pending && !exited) {
		int r = fetch_seccomp_filter(init_pid);
		probe_filter_pending = r == 1;
		if (r != 0)
			probe_ok = 0; /* still none once the container runs, or unreadable: runc exec then */
	}
	if (!probe_ok || !started || exited || pipe2(p, O_CLOEXEC) < 0) {
		answer(c, "unsupported\n");
		drop_client(idx);
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		probe_child(p[1]);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		answer(c, "unsupported\n");
		drop_client(idx);
		return;
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	c->probe_pid = pid;
	c->probe_fd = p[0];
}

static void read_probe_output(int idx)
{
	struct client *c = &clients[idx];
	for (;;) {
		ssize_t n = read(c->probe_fd, io_buf, sizeof io_buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close(c->probe_fd);
			c->probe_fd = -1;
			return;
		}
		size_t keep = c->poutlen < PROBE_OUT_MAX ? PROBE_OUT_MAX - c->poutlen : 0; /* Docker keeps 4096 bytes */
		if (keep > (size_t)n)
			keep = (size_t)n;
		if (keep) {
			if (!c->pout && !(c->pout = malloc(PROBE_OUT_MAX)))
				keep = 0;
			else
				memcpy(c->pout + c->poutlen, io_buf, keep);
			c->poutlen += keep;
		}
	}
}

static int probe_exited(pid_t p, int status)
{
	for (int i = 0; i < nclients; i++)
		if (!clients[i].dead && clients[i].kind == K_PROBE && clients[i].probe_pid == p) {
			clients[i].probe_exited = 1;
			clients[i].probe_status = status;
			return 1;
		}
	return 0;
}

/* Once the probe has exited and its output pipe is drained: "exit N\n" and the output. */
static void maybe_answer_probe(int idx)
{
	struct client *c = &clients[idx];
	if (!c->probe_exited)
		return;
	if (c->probe_fd >= 0) {
		read_probe_output(idx);
		/* a process the probe left behind may hold the pipe: do not wait for it */
		if (c->probe_fd >= 0) {
			close(c->probe_fd);
			c->probe_fd = -1;
		}
	}
	int st = c->probe_status;
	if (WIFSIGNALED(st) && WTERMSIG(st) == PROBE_SETUP_FAILED) {
		answer(c, "unsupported\n");
	} else {
		char head[64];
		snprintf(head, sizeof head, "exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		answer(c, head);
		if (c->poutlen)
			write_until(c->fd, c->pout, c->poutlen, now_ms() + 1000);
	}
	drop_client(idx);
}

static int has_word(const char *line, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = strstr(line, word); p; p = strstr(p + 1, word))
		if ((p == line || p[-1] == ' ') && (p[n] == 0 || p[n] == ' ' || p[n] == '\r'))
			return 1;
	return 0;
}

/* Act on a complete header line; bytes after it (attach with stdin) go to the container. */
static void parse_header(int idx)
{
	struct client *c = &clients[idx];
	char *nl = memchr(c->hdr, '\n', c->hlen);
	if (!nl) {
		if (c->hlen == sizeof c->hdr)
			drop_client(idx);
		return;
	}
	*nl = 0;
	if (nl > c->hdr && nl[-1] == '\r')
		nl[-1] = 0;
	size_t rest_len = c->hlen - (size_t)(nl + 1 - c->hdr);
	const char *rest = nl + 1;
	if (strncmp(c->hdr, "attach", 6) == 0 && (c->hdr[6] == 0 || c->hdr[6] == ' ')) {
		c->kind = K_ATTACH;
		c->want_stdin = has_word(c->hdr, "stdin") && (opt.open_stdin || opt.tty);
		c->want_out = has_word(c->hdr, "stdout");
		c->want_err = has_word(c->hdr, "stderr");
		if (c->want_stdin && rest_len)
			send_stdin(rest, rest_len);
	} else if (strncmp(c->hdr, "resize ", 7) == 0) {
		if (sscanf(c->hdr + 7, "%d %d", &pending_rows, &pending_cols) == 2)
			apply_winsize();
		write_all(c->fd, "ok\n", 3);
		drop_client(idx);
	} else if (strcmp(c->hdr, "start") == 0) {
		start_requested = 1;
		drop_client(idx);
	} else if (strcmp(c->hdr, "probe") == 0) {
		start_probe(idx);
	} else if (strcmp(c->hdr, "wait") == 0) {
		c->kind = K_WAIT;
		if (exited && !finishing) {
			write_all(c->fd, exit_json, strlen(exit_json));
			drop_client(idx);
		}
	} else {
		drop_client(idx);
	}
}

/* Input from a client: its header, then stdin bytes. `hup` = the peer closed both directions. */
static void handle_client_read(int idx, int hup)
{
	struct client *c = &clients[idx];
	if (c->kind == K_PROBE) {
		/* nothing is expected from a probe's client: EOF means it gave up (its timeout) */
		ssize_t n = read(c->fd, io_buf, sizeof io_buf);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || hup)
			drop_client(idx);
		return;
	}
	if (c->kind == K_HEADER) {
		ssize_t n = read(c->fd, c->hdr + c->hlen, sizeof c->hdr - c->hlen);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			drop_client(idx);
			return;
		}
		c->hlen += (size_t)n;
		parse_header(idx);
		return;
	}
	ssize_t n = read(c->fd, io_buf, sizeof io_buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		if (c->want_stdin)
			send_stdin(io_buf, (size_t)n);
		return;
	}
	c->read_closed = 1;
	if (c->want_stdin && opt.stdin_once) {
		if (stdin_plen || !started)
			stdin_close_pending = 1;
		else
			close_stdin();
	}
	/* keep a half-closed reader that still gets output; a vanished peer can get nothing */
	if (hup || c->kind == K_WAIT || (!c->want_out && !c->want_err))
		drop_client(idx);
}

static void accept_clients(void)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (nclients == MAX_CLIENTS) {
			close(fd);
			continue;
		}
		memset(&clients[nclients], 0, sizeof clients[0]);
		clients[nclients].fd = fd;
		clients[nclients].kind = K_HEADER;
		/* the header is normally already there: read it now, before any output is handed out */
		handle_client_read(nclients++, 0);
	}
}

static int listen_unix(const char *path, int flags)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (fd < 0 || strlen(path) >= sizeof addr.sun_path)
		die("cannot listen on %s: path too long or no socket", path);
	strcpy(addr.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 64) < 0)
		die("listen %s: %s", path, strerror(errno));
	return fd;
}

/* Copy a JSON string body (already escaped) starting after its opening quote. */
static void copy_json_string(const char *m, char *msg, size_t size)
{
	size_t k = 0;
	for (; *m && *m != '\n' && k < size - 2; m++) {
		if (*m == '\\' && m[1]) {
			msg[k++] = *m++;
			msg[k++] = *m;
			continue;
		}
		if (*m == '"')
			break;
		msg[k++] = *m;
	}
	if (k > 0 && msg[k - 1] == '\\' && (k < 2 || msg[k - 2] != '\\'))
		k--; /* cut in the middle of an escape */
	msg[k] = 0;
}

/* runc's error: the last error-level "msg" in its JSON log, else its stderr (JSON-escaped). */
static void runc_error(char *out, size_t size, const char *fallback)
{
	char *p = path_in_state("runc.log");
	FILE *f = fopen(p, "r");
	char line[8192], msg[4096] = "";
	while (f && fgets(line, sizeof line, f)) {
		if (!strstr(line, "\"level\":\"error\"") && !strstr(line, "\"level\":\"fatal\""))
			continue;
		char *m = strstr(line, "\"msg\":\"");
		if (m)
			copy_json_string(m + 7, msg, sizeof msg);
	}
	if (f)
		fclose(f);
	free(p);
	if (msg[0]) {
		snprintf(out, size, "%s", msg);
		return;
	}
	size_t flen = strnlen(fallback, size / 6 - 1);
	while (flen > 0 && (fallback[flen - 1] == '\n' || fallback[flen - 1] == ' '))
		flen--;
	size_t len = json_escape((const unsigned char *)fallback, flen, out);
	out[len] = 0;
}

/* Fork the runtime with the given stdio; the child gets default signal handling back, since
 * ignored dispositions would otherwise survive exec into runc and the container's process. */
static pid_t spawn_runtime(char **argv, int in, int out, int err)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int sigs[] = { SIGPIPE, SIGHUP, SIGINT, SIGTERM };
		for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
			signal(sigs[i], SIG_DFL);
		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		execvp(argv[0], argv);
		dprintf(2, "cannot run %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

/* argv = RUNTIME [--root R] then the rest; returns the index of the next free slot. */
static int runtime_argv(char **argv)
{
	int n = 0;
	argv[n++] = (char *)opt.runtime;
	if (opt.runtime_root) {
		argv[n++] = "--root";
		argv[n++] = (char *)opt.runtime_root;
	}
	return n;
}

static void run_delete(void)
{
	char *argv[16];
	int n = runtime_argv(argv);
	argv[n++] = "delete";
	argv[n++] = "--force";
	argv[n++] = (char *)opt.id;
	argv[n] = NULL;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	pid_t pid = spawn_runtime(argv, null, null, null);
	close(null);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static const char *signame(int sig)
{
	static char buf[32];
	static const char *const names[] = {
		[SIGHUP] = "SIGHUP",     [SIGINT] = "SIGINT",       [SIGQUIT] = "SIGQUIT", [SIGILL] = "SIGILL",
		[SIGTRAP] = "SIGTRAP",   [SIGABRT] = "SIGABRT",     [SIGBUS] = "SIGBUS",   [SIGFPE] = "SIGFPE",
		[SIGKILL] = "SIGKILL",   [SIGUSR1] = "SIGUSR1",     [SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2",
		[SIGPIPE] = "SIGPIPE",   [SIGALRM] = "SIGALRM",     [SIGTERM] = "SIGTERM", [SIGSTKFLT] = "SIGSTKFLT",
		[SIGCHLD] = "SIGCHLD",   [SIGCONT] = "SIGCONT",     [SIGSTOP] = "SIGSTOP", [SIGTSTP] = "SIGTSTP",
		[SIGTTIN] = "SIGTTIN",   [SIGTTOU] = "SIGTTOU",     [SIGURG] = "SIGURG",   [SIGXCPU] = "SIGXCPU",
		[SIGXFSZ] = "SIGXFSZ",   [SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF", [SIGWINCH] = "SIGWINCH",
		[SIGIO] = "SIGIO",       [SIGPWR] = "SIGPWR",       [SIGSYS] = "SIGSYS",
	};
	if (sig > 0 && sig < (int)(sizeof names / sizeof names[0]) && names[sig])
		return names[sig];
	snprintf(buf, sizeof buf, "SIGRTMIN+%d", sig - SIGRTMIN);
	return buf;
}

/* Whether the kernel OOM-killed a process of the container: read before `runc delete` removes the cgroup. */
static int oom_killed(void)
{
	if (!opt.oom_file)
		return 0;
	FILE *f = fopen(opt.oom_file, "r");
	char line[256];
	long long n = 0;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "oom_kill %lld", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n > 0;
}

static void record_exit(int status)
{
	char ts[64];
	now_rfc3339(ts, sizeof ts);
	const char *oom = oom_killed() ? "true" : "false";
	if (WIFSIGNALED(status))
		snprintf(exit_json, sizeof exit_json, "{\"exitCode\":%d,\"signal\":\"%s\",\"finishedAt\":\"%s\",\"oomKilled\":%s}\n",
			 128 + WTERMSIG(status), signame(WTERMSIG(status)), ts, oom);
	else
		snprintf(exit_json, sizeof exit_json, "{\"exitCode\":%d,\"signal\":null,\"finishedAt\":\"%s\",\"oomKilled\":%s}\n",
			 WEXITSTATUS(status), ts, oom);
	exited = 1;
	trace_span("shim: the container's process ran", trace_t_started);
	trace_t_exit = trace_now();
}

/* Atomically: a crash leaves no exit.json or a whole one. Not fsynced: it is read by a berthd that
 * restarted while this shim was gone (the page cache has it), and it lives under the exec root, /run,
 * which a machine's crash empties anyway; the sync was 1-3 ms on every exit's path on a busy disk. */
static void write_exit_file(void)
{
	char *tmp = path_in_state(".exit.json.tmp"), *final = path_in_state("exit.json");
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		write_all(fd, exit_json, strlen(exit_json));
		close(fd);
		rename(tmp, final);
	}
	free(tmp);
	free(final);
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
	if (recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) > 0) {
		struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
		if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
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
#define ARG(name, field)                                   \
	if (strcmp(a, name) == 0) {                        \
		if (!v)                                    \
			die("%s needs a value", name);    \
		field = v;                                 \
		i++;                                       \
		continue;                                  \
	}
		ARG("--id", opt.id)
		ARG("--state-dir", opt.state)
		ARG("--bundle", opt.bundle)
		ARG("--exec", opt.exec_process)
		ARG("--runtime", opt.runtime)
		ARG("--runtime-root", opt.runtime_root)
		ARG("--log-path", opt.log_path)
		ARG("--oom-file", opt.oom_file)
		ARG("--probe-spec", opt.probe_spec)
#undef ARG
		if (strcmp(a, "--log-max-size") == 0 && v) {
			opt.log_max_size = atoll(v);
			i++;
		} else if (strcmp(a, "--log-max-file") == 0 && v) {
			opt.log_max_file = atoi(v);
			i++;
		} else if (strcmp(a, "--log-compress") == 0) {
			opt.log_compress = 1;
		} else if (strcmp(a, "--tty") == 0) {
			opt.tty = 1;
		} else if (strcmp(a, "--stdin") == 0) {
			opt.open_stdin = 1;
		} else if (strcmp(a, "--stdin-once") == 0) {
			opt.stdin_once = 1;
		} else if (strcmp(a, "--wait-attach") == 0) {
			opt.wait_attach = 1;
		} else if (strcmp(a, "--start-on-request") == 0) {
			opt.start_on_request = 1;
		} else {
			die("unknown argument %s", a);
		}
	}
	if (!opt.id || !opt.state || (!opt.bundle == !opt.exec_process) || (opt.start_on_request && !opt.bundle))
		die("usage: berth-shim --id ID --state-dir DIR (--bundle DIR | --exec PROCESS_JSON) [--runtime PATH] "
		    "[--runtime-root DIR] [--tty] [--stdin] [--stdin-once] [--log-path FILE --log-max-size BYTES "
		    "--log-max-file N [--log-compress]] [--wait-attach] [--start-on-request]");
}

/* Serve attach clients until the first one has sent its header (exec: nothing may be lost). */
static void wait_first_attach(void)
{
	for (;;) {
		compact_clients();
		for (int i = 0; i < nclients; i++)
			if (clients[i].kind == K_ATTACH)
				return;
		struct pollfd fds[MAX_CLIENTS + 1];
		int n = 0, polled = nclients;
		fds[n++] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
		for (int i = 0; i < polled; i++)
			fds[n++] = (struct pollfd){ .fd = clients[i].fd, .events = clients[i].kind == K_HEADER ? POLLIN : 0 };
		if (poll(fds, (nfds_t)n, -1) < 0)
			continue;
		for (int i = 0; i < polled; i++) {
			int r = fds[i + 1].revents;
			if (r & (POLLERR | POLLHUP) && clients[i].kind != K_HEADER)
				drop_client(i); /* an early `wait` client that went away */
			else if (r)
				handle_client_read(i, r & POLLHUP);
		}
		if (fds[0].revents)
			accept_clients();
	}
}

/* --start-on-request: serve attach and wait clients until "start" arrives. Should berthd go away first
 * (the sync pipe's other end closes), there is no container to look after: leave. */
static void wait_start_request(void)
{
	while (!start_requested) {
		compact_clients();
		struct pollfd fds[MAX_CLIENTS + 2];
		int n = 0, polled = nclients;
		fds[n++] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
		fds[n++] = (struct pollfd){ .fd = sync_fd, .events = 0 };
		for (int i = 0; i < polled; i++)
			fds[n++] = (struct pollfd){ .fd = clients[i].fd, .events = clients[i].kind == K_HEADER ? POLLIN : 0 };
		if (poll(fds, (nfds_t)n, -1) < 0)
			continue;
		if (fds[1].revents & (POLLHUP | POLLERR | POLLNVAL)) {
			char *sock = path_in_state("attach.sock");
			unlink(sock);
			exit(1);
		}
		for (int i = 0; i < polled; i++) {
			int r = fds[i + 2].revents;
			if (r & (POLLERR | POLLHUP) && clients[i].kind != K_HEADER)
				drop_client(i); /* an early client that went away */
			else if (r)
				handle_client_read(i, r & POLLHUP);
		}
		if (fds[0].revents)
			accept_clients();
	}
}

static void fail_runtime(const char *fallback)
{
	char out[8192];
	runc_error(out, sizeof out, fallback[0] ? fallback : "the runtime failed without a message");
	sync_msg("{\"error\":\"%s\"}", out);
	char *sock = path_in_state("attach.sock");
	unlink(sock);
	exit(1);
}

/* Run runc create / exec with the container's stdio; returns the container process's pid. */
static pid_t create_container(void)
{
	int pin[2] = { -1, -1 }, pout[2], perr[2], console_listen = -1;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	char *pidfile = path_in_state("init.pid"), *runclog = path_in_state("runc.log"), *console = NULL;
	unlink(pidfile);
	unlink(runclog); /* an old error must not be reported for this run */
	if (opt.tty) {
		console = path_in_state("console.sock");
		console_listen = listen_unix(console, 0);
	}
	if (pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0 || (opt.open_stdin && pipe2(pin, O_CLOEXEC) < 0))
		die("pipe: %s", strerror(errno));
	char *argv[32];
	double trace_t_runc = trace_now();
	int n = runtime_argv(argv);
	argv[n++] = "--log";
	argv[n++] = runclog;
	argv[n++] = "--log-format";
	argv[n++] = "json";
	if (opt.bundle) {
		argv[n++] = "create";
		if (opt.start_on_request) {
			argv[n - 1] = "run";
			argv[n++] = "--detach";
		}
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
	/* with a tty, runc's own stderr is only read for its error message */
	pid_t runc = opt.tty ? spawn_runtime(argv, null, null, perr[1])
			     : spawn_runtime(argv, opt.open_stdin ? pin[0] : null, pout[1], perr[1]);
	close(pout[1]);
	close(perr[1]);
	if (opt.open_stdin)
		close(pin[0]);
	close(null);
	int status = 0;
	while (waitpid(runc, &status, 0) < 0 && errno == EINTR)
		;
	trace_span(!opt.bundle ? "shim: runc exec" : opt.start_on_request ? "shim: runc run --detach" : "shim: runc create", trace_t_runc);
	trace_t_started = trace_now();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char err[4096] = "";
		fcntl(perr[0], F_SETFL, O_NONBLOCK);
		ssize_t k = read(perr[0], err, sizeof err - 1);
		err[k > 0 ? k : 0] = 0;
		if (console)
			unlink(console);
		fail_runtime(err);
	}
	if (opt.tty) {
		master_fd = recv_master(console_listen);
		close(console_listen);
		unlink(console);
		close(pout[0]);
		close(perr[0]);
		if (master_fd < 0)
			fail_runtime("did not receive the container's terminal from the runtime");
		fcntl(master_fd, F_SETFL, O_NONBLOCK);
		apply_winsize();
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
	started = 1;
	FILE *f = fopen(pidfile, "r");
	int pid = 0;
	if (!f || fscanf(f, "%d", &pid) != 1 || pid <= 0)
		fail_runtime("the runtime wrote no pid file");
	fclose(f);
	free(pidfile);
	free(runclog);
	free(console);
	return pid;
}

/* The end: record the exit, free the id and the socket path, then answer and flush every client. */
static void finish(void)
{
	finishing = 1;
	double t = trace_now();
	drain_outputs();
	write_exit_file();
	trace_span("shim: drain + exit.json", t);
	trace_span("shim: exit seen → finish (drain wait)", trace_t_exit);
	/* connections still in the backlog (a `wait` racing the exit) are served, not reset */
	accept_clients();
	for (int i = 0; i < nclients; i++)
		if (!clients[i].dead && clients[i].kind == K_HEADER)
			handle_client_read(i, 0);
	close(listen_fd);
	char *sock = path_in_state("attach.sock");
	unlink(sock);
	free(sock);
	/* The exit status goes out now, the output to the attaches (all of it is in: drained) and their
	 * connections end; `wait` connections stay open until the runtime's container is deleted, so berthd
	 * may tear the rest down meanwhile and reuse the id once they close. */
	long long deadline = now_ms() + FLUSH_MS;
	for (int i = 0; i < nclients; i++) {
		struct client *c = &clients[i];
		if (c->dead)
			continue;
		if (c->kind == K_WAIT) {
			write_until(c->fd, exit_json, strlen(exit_json), deadline);
			continue;
		}
		if (c->blen)
			write_until(c->fd, c->buf, c->blen, deadline);
		close(c->fd);
		c->dead = 1;
	}
	t = trace_now();
	if (opt.bundle)
		run_delete();
	trace_span("shim: runc delete", t);
	/* nothing of the container is left to look after: berthd must not take this exiting shim for a
	 * live monitor (and delete the container a second time) */
	char *pidf = path_in_state("shim.pid");
	unlink(pidf);
	free(pidf);
	for (int i = 0; i < nclients; i++)
		if (!clients[i].dead)
			close(clients[i].fd);
	exit(0);
}

static void reap_children(int sfd, pid_t init)
{
	struct signalfd_siginfo si;
	while (read(sfd, &si, sizeof si) > 0)
		;
	int status;
	pid_t p;
	while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
		if (p == init && !exited)
			record_exit(status); /* wait clients are answered in finish(), after the output */
		else if (!probe_exited(p, status))
			gz_job_exited(p);
	}
}

static void write_pid_file(void)
{
	char *tmp = path_in_state(".shim.pid.tmp"), *final = path_in_state("shim.pid");
	FILE *pf = fopen(tmp, "w");
	if (!pf || fprintf(pf, "%d\n", getpid()) < 0 || fclose(pf) != 0 || rename(tmp, final) < 0)
		die("writing %s: %s", final, strerror(errno));
	free(tmp);
	free(final);
}

static int setup(int argc, char **argv)
{
	if (fcntl(sync_fd, F_SETFD, FD_CLOEXEC) < 0)
		sync_fd = -1; /* started by hand, without a sync pipe */
	parse_args(argc, argv);
	if (getsid(0) != getpid())
		setsid();
	/* survive berthd going away (and its terminal, and its process group) */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	if (opt.log_max_file < 1)
		opt.log_max_file = 1;
	if (opt.log_max_file < 2)
		opt.log_compress = 0;
	/* the container's process is orphaned when runc exits: make it ours to wait for */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	write_pid_file();
	if (opt.log_path)
		open_log(0);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0)
		die("signalfd: %s", strerror(errno));
	char *sock = path_in_state("attach.sock");
	listen_fd = listen_unix(sock, SOCK_NONBLOCK);
	free(sock);
	return sfd;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--compress-log") == 0)
		return compress_main(argc, argv);
	trace_file = getenv("BERTH_TRACE");
	double t0 = trace_now();
	int sfd = setup(argc, argv);
	sync_msg("{\"ready\":true}");
	trace_span("shim: setup", t0);
	if (opt.wait_attach)
		wait_first_attach();
	if (opt.start_on_request && sync_fd >= 0)
		wait_start_request();
	pid_t init = create_container();
	if (opt.probe_spec && opt.bundle)
		setup_probes(init);
	sync_msg("{\"pid\":%d}", init);
	if (sync_fd >= 0)
		close(sync_fd);
	sync_fd = -1;

	long long drain_deadline = 0;
	for (;;) {
		compact_clients();
		if (stdin_close_pending && !stdin_plen)
			close_stdin();
		if (exited && out_fd < 0 && err_fd < 0 && master_fd < 0)
			finish();
		int timeout = -1;
		if (exited) {
			/* after the exit, children that still hold the pipes get a moment, then we stop */
			long long now = now_ms();
			if (!drain_deadline)
				drain_deadline = now + DRAIN_MS;
			if (now >= drain_deadline)
				finish();
			timeout = (int)(drain_deadline - now);
		}
		struct pollfd fds[2 * MAX_CLIENTS + 8];
		int n = 0, i_out = -1, i_err = -1, i_master = -1, i_in = -1;
		int i_listen = n++, i_sig = n++;
		fds[i_listen] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
		fds[i_sig] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		if (out_fd >= 0)
			fds[i_out = n++] = (struct pollfd){ .fd = out_fd, .events = POLLIN };
		if (err_fd >= 0)
			fds[i_err = n++] = (struct pollfd){ .fd = err_fd, .events = POLLIN };
		if (master_fd >= 0)
			fds[i_master = n++] = (struct pollfd){ .fd = master_fd, .events = POLLIN | (stdin_plen ? POLLOUT : 0) };
		if (!opt.tty && in_fd >= 0 && stdin_plen)
			fds[i_in = n++] = (struct pollfd){ .fd = in_fd, .events = POLLOUT };
		int first_client = n, polled = nclients;
		for (int i = 0; i < polled; i++) {
			short ev = 0;
			/* stop reading a client's stdin while the container is not taking it */
			if (!clients[i].read_closed && !(clients[i].want_stdin && stdin_plen))
				ev |= POLLIN;
			if (clients[i].blen)
				ev |= POLLOUT;
			fds[n++] = (struct pollfd){ .fd = clients[i].fd, .events = ev };
		}
		int first_probe = n, nprobe_fds = 0, probe_of[MAX_CLIENTS];
		for (int i = 0; i < polled; i++)
			if (clients[i].kind == K_PROBE && clients[i].probe_fd >= 0) {
				probe_of[nprobe_fds++] = i;
				fds[n++] = (struct pollfd){ .fd = clients[i].probe_fd, .events = POLLIN };
			}
		if (poll(fds, (nfds_t)n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		int output_ready = (i_out >= 0 && fds[i_out].revents) || (i_err >= 0 && fds[i_err].revents) ||
				   (i_master >= 0 && fds[i_master].revents);
		/* An attach that connected before `runc start` must get all the output: take new clients
		 * (and their headers) before handing out output read in this round. */
		if (fds[i_listen].revents || output_ready)
			accept_clients();
		/* A client accepted in an earlier round whose header arrived in this one (with the first
		 * output, on a loaded machine) is registered before that output is handed out, too. */
		if (output_ready)
			for (int i = 0; i < polled; i++)
				if (clients[i].kind == K_HEADER && !clients[i].dead && fds[first_client + i].revents & POLLIN) {
					handle_client_read(i, 0);
					fds[first_client + i].revents = 0;
				}
		if (i_out >= 0 && fds[i_out].revents)
			handle_output(out_fd);
		if (i_err >= 0 && fds[i_err].revents)
			handle_output(err_fd);
		if (i_master >= 0 && fds[i_master].revents & (POLLIN | POLLHUP | POLLERR))
			handle_output(master_fd);
		if ((i_in >= 0 && fds[i_in].revents) || (i_master >= 0 && master_fd >= 0 && fds[i_master].revents & POLLOUT))
			flush_stdin();
		for (int i = 0; i < polled; i++) {
			int r = fds[first_client + i].revents;
			struct client *c = &clients[i];
			if (!r || c->dead)
				continue;
			if (r & POLLOUT && c->blen && client_flush(c) < 0) {
				drop_client(i);
				continue;
			}
			if (r & (POLLIN | POLLHUP | POLLERR)) {
				if (c->read_closed)
					drop_client(i); /* half-closed earlier, now fully gone */
				else
					handle_client_read(i, r & (POLLHUP | POLLERR));
			}
		}
		for (int k = 0; k < nprobe_fds; k++)
			if (fds[first_probe + k].revents && !clients[probe_of[k]].dead)
				read_probe_output(probe_of[k]);
		if (fds[i_sig].revents)
			reap_children(sfd, init);
		for (int i = 0; i < nclients; i++)
			if (!clients[i].dead && clients[i].kind == K_PROBE)
				maybe_answer_probe(i);
	}
}
