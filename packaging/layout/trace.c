/* Records which functions of a static binary run, in the order they first run, for the
 * link order (packaging/layout/README.md). Usage:
 *
 *   layout-trace OUT FUNCS BINARY -- CMD [ARG...]
 *
 * FUNCS lists the entry address of every function of BINARY (hex, one a line). CMD runs
 * under ptrace with a breakpoint (int3) on every entry; the first hit of each entry in each
 * process is appended to OUT as "MONOTONIC_NS PID HEXADDR", then the original byte is put
 * back, so each function traps once per address space: exact and cheap. Forks, vforks and
 * clones are followed; a process that execs anything but BINARY is let go (the container's
 * program is not ours to profile).
 *
 * `create` leaves its container's init waiting for `start`, so CMD's exit cannot be where
 * tracing ends: the tracer returns CMD's exit status to its caller as soon as CMD exits and
 * goes on in the background, with its standard streams closed, until the last process it
 * follows has exec'd or exited. It holds a shared flock on OUT.lock the whole time, so
 * `flock -x OUT.lock true` waits for every tracer writing OUT. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t *funcs;
static size_t nfuncs;
static unsigned char *orig; /* the original byte at each entry, read from the first image */
static char binary[PATH_MAX];
static FILE *out;

#define MAXPROC 256
struct proc {
	pid_t pid;
	int mem;   /* /proc/PID/mem, for planting and removing breakpoints */
	int known; /* its initial stop was seen or it was set up by us */
};
static struct proc procs[MAXPROC];

static void die(const char *what)
{
	perror(what);
	exit(127);
}

static struct proc *find(pid_t pid, int create)
{
	struct proc *free_slot = NULL;
	for (int i = 0; i < MAXPROC; i++) {
		if (procs[i].pid == pid)
			return &procs[i];
		if (!procs[i].pid && !free_slot)
			free_slot = &procs[i];
	}
	if (!create)
		return NULL;
	if (!free_slot) {
		fprintf(stderr, "layout-trace: more than %d processes\n", MAXPROC);
		exit(127);
	}
	free_slot->pid = pid;
	free_slot->mem = -1;
	free_slot->known = 0;
	return free_slot;
}

static void forget(struct proc *p)
{
	if (p->mem >= 0)
		close(p->mem);
	p->pid = 0;
	p->mem = -1;
}

static int open_mem(struct proc *p)
{
	if (p->mem < 0) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/mem", p->pid);
		p->mem = open(path, O_RDWR | O_CLOEXEC);
	}
	return p->mem;
}

static long find_func(uint64_t addr)
{
	size_t lo = 0, hi = nfuncs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (funcs[mid] < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nfuncs && funcs[lo] == addr ? (long)lo : -1;
}

static int is_binary(pid_t pid)
{
	char path[64], exe[PATH_MAX];
	snprintf(path, sizeof path, "/proc/%d/exe", pid);
	ssize_t n = readlink(path, exe, sizeof exe - 1);
	if (n < 0)
		return 0;
	exe[n] = 0;
	return strcmp(exe, binary) == 0;
}

/* A fresh image of BINARY (after its execve): read the original bytes once, then write an
 * int3 at every entry. /proc/PID/mem writes through the read-only text (a private copy of
 * the page for this process only). */
static void plant(struct proc *p)
{
	int mem = open_mem(p);
	if (mem < 0)
		die("open /proc/PID/mem");
	if (!orig) {
		orig = malloc(nfuncs);
		if (!orig)
			die("malloc");
		for (size_t i = 0; i < nfuncs; i++)
			if (pread(mem, &orig[i], 1, (off_t)funcs[i]) != 1)
				die("read an entry");
	}
	unsigned char cc = 0xcc;
	for (size_t i = 0; i < nfuncs; i++)
		if (pwrite(mem, &cc, 1, (off_t)funcs[i]) != 1)
			die("plant a breakpoint");
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A SIGTRAP stop: an int3 of ours (record, put the byte back, re-run the instruction), or
 * not ours (returns 0: deliver it). */
static int breakpoint(struct proc *p)
{
	siginfo_t si;
	if (ptrace(PTRACE_GETSIGINFO, p->pid, 0, &si) < 0 || si.si_code != SI_KERNEL)
		return 0;
	struct user_regs_struct regs;
	if (ptrace(PTRACE_GETREGS, p->pid, 0, &regs) < 0)
		return 0;
	long i = find_func(regs.rip - 1);
	if (i < 0)
		return 0;
	fprintf(out, "%llu %d %llx\n", (unsigned long long)now_ns(), p->pid,
		(unsigned long long)funcs[i]);
	int mem = open_mem(p);
	unsigned char b;
	/* A thread sharing this memory may have put it back already. */
	if (mem >= 0 && pread(mem, &b, 1, (off_t)funcs[i]) == 1 && b == 0xcc)
		if (pwrite(mem, &orig[i], 1, (off_t)funcs[i]) != 1)
			die("remove a breakpoint");
	regs.rip -= 1;
	if (ptrace(PTRACE_SETREGS, p->pid, 0, &regs) < 0)
		die("PTRACE_SETREGS");
	return 1;
}

static void load_funcs(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		die(path);
	size_t cap = 0;
	char line[64];
	while (fgets(line, sizeof line, f)) {
		if (nfuncs == cap) {
			cap = cap ? cap * 2 : 8192;
			funcs = realloc(funcs, cap * sizeof *funcs);
			if (!funcs)
				die("realloc");
		}
		funcs[nfuncs++] = strtoull(line, NULL, 16);
	}
	fclose(f);
	for (size_t i = 1; i < nfuncs; i++)
		if (funcs[i] <= funcs[i - 1]) {
			fprintf(stderr, "layout-trace: %s is not sorted and unique\n", path);
			exit(127);
		}
}

int main(int argc, char **argv)
{
	if (argc < 6 || strcmp(argv[4], "--")) {
		fprintf(stderr, "usage: layout-trace OUT FUNCS BINARY -- CMD [ARG...]\n");
		return 127;
	}
	if (!realpath(argv[3], binary))
		die(argv[3]);
	load_funcs(argv[2]);
	char lockpath[PATH_MAX];
	snprintf(lockpath, sizeof lockpath, "%s.lock", argv[1]);
	int lock = open(lockpath, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (lock < 0 || flock(lock, LOCK_SH) < 0)
		die(lockpath);
	out = fopen(argv[1], "a");
	if (!out)
		die(argv[1]);

	int status_pipe[2];
	if (pipe2(status_pipe, O_CLOEXEC) < 0)
		die("pipe2");
	pid_t tracer = fork();
	if (tracer < 0)
		die("fork");
	if (tracer > 0) {
		/* The caller's side: wait for CMD's status, not for the tracer. */
		close(status_pipe[1]);
		int st;
		if (read(status_pipe[0], &st, sizeof st) != sizeof st)
			return 127;
		if (WIFSIGNALED(st))
			return 128 + WTERMSIG(st);
		return WEXITSTATUS(st);
	}
	close(status_pipe[0]);

	pid_t top = fork();
	if (top < 0)
		die("fork");
	if (top == 0) {
		if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0)
			die("PTRACE_TRACEME");
		execvp(argv[5], &argv[5]);
		die(argv[5]);
	}
	/* The caller may read CMD's output through a pipe: only CMD holds it from now on. */
	int null = open("/dev/null", O_RDWR);
	dup2(null, 0);
	dup2(null, 1);

	int st;
	if (waitpid(top, &st, 0) < 0 || !WIFSTOPPED(st))
		die("the first stop");
	struct proc *p = find(top, 1);
	p->known = 1;
	if (!is_binary(top)) {
		fprintf(stderr, "layout-trace: %s is not %s\n", argv[5], binary);
		kill(top, SIGKILL);
		return 127;
	}
	plant(p);
	long opts = PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC;
	if (ptrace(PTRACE_SETOPTIONS, top, 0, opts) < 0)
		die("PTRACE_SETOPTIONS");
	ptrace(PTRACE_CONT, top, 0, 0);
	dup2(null, 2);

	int live = 1, reported = 0;
	while (live > 0) {
		pid_t pid = waitpid(-1, &st, __WALL);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		p = find(pid, 1);
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			if (pid == top && !reported) {
				reported = 1;
				if (write(status_pipe[1], &st, sizeof st) != sizeof st)
					return 127;
				close(status_pipe[1]);
			}
			forget(p);
			live--;
			continue;
		}
		if (!WIFSTOPPED(st))
			continue;
		int sig = WSTOPSIG(st), event = st >> 16, deliver = 0;
		if (!p->known) {
			/* A new child's initial SIGSTOP (it may come before its parent's event). */
			p->known = 1;
			live++;
			if (sig == SIGSTOP) {
				ptrace(PTRACE_CONT, pid, 0, 0);
				continue;
			}
		}
		if (sig == SIGTRAP && event == PTRACE_EVENT_EXEC) {
			if (p->mem >= 0) {
				close(p->mem);
				p->mem = -1;
			}
			if (is_binary(pid)) {
				plant(p);
			} else {
				ptrace(PTRACE_DETACH, pid, 0, 0);
				forget(p);
				live--;
				continue;
			}
		} else if (sig == SIGTRAP && event) {
			/* fork, vfork, clone: the child is counted at its own first stop. */
		} else if (sig == SIGTRAP) {
			if (!breakpoint(p))
				deliver = sig;
		} else {
			siginfo_t si;
			/* A group-stop (no siginfo) is resumed; a signal is delivered. */
			if (ptrace(PTRACE_GETSIGINFO, pid, 0, &si) == 0)
				deliver = sig;
		}
		ptrace(PTRACE_CONT, pid, 0, deliver);
	}
	fflush(out);
	return 0;
}
