/*
 * probe: a static, busybox-style helper that runs inside test containers.
 *
 *   probe <verb> [args...]
 *
 * Output contract (the integration tests rely on it):
 *   exit 0  the verb did what it tried; a result line is printed on stdout.
 *   exit 1  a system call failed; stdout gets one line holding only the
 *           errno name (e.g. "EPERM"), stderr a longer explanation.
 *   exit 2  usage error (unknown verb, bad arguments).
 *   exit 3  the verb ran but the thing it looks for did not happen
 *           (chroot-escape stayed contained, env variable unset, ...).
 * For escape attempts, exit 0 therefore means "the attack worked".
 *
 * Plain C, linked with `cc -static`; no NSS-dependent calls (getpwnam,
 * getaddrinfo, ...), only numeric hosts and ids.  Run `probe help` for the
 * verb list.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/userfaultfd.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

extern char **environ;

#define EXIT_SYSCALL 1
#define EXIT_USAGE 2
#define EXIT_NEGATIVE 3

static const char *verb = "probe";

/* ------------------------------------------------------------------ */
/* errno names                                                          */
/* ------------------------------------------------------------------ */

#define ERRNO_CASE(e) \
    case e:           \
        return #e;

static const char *errno_name(int e)
{
    static char unknown[32];
    switch (e) {
        ERRNO_CASE(EPERM)
        ERRNO_CASE(ENOENT)
        ERRNO_CASE(ESRCH)
        ERRNO_CASE(EINTR)
        ERRNO_CASE(EIO)
        ERRNO_CASE(ENXIO)
        ERRNO_CASE(E2BIG)
        ERRNO_CASE(ENOEXEC)
        ERRNO_CASE(EBADF)
        ERRNO_CASE(ECHILD)
        ERRNO_CASE(EAGAIN)
        ERRNO_CASE(ENOMEM)
        ERRNO_CASE(EACCES)
        ERRNO_CASE(EFAULT)
        ERRNO_CASE(ENOTBLK)
        ERRNO_CASE(EBUSY)
        ERRNO_CASE(EEXIST)
        ERRNO_CASE(EXDEV)
        ERRNO_CASE(ENODEV)
        ERRNO_CASE(ENOTDIR)
        ERRNO_CASE(EISDIR)
        ERRNO_CASE(EINVAL)
        ERRNO_CASE(ENFILE)
        ERRNO_CASE(EMFILE)
        ERRNO_CASE(ENOTTY)
        ERRNO_CASE(ETXTBSY)
        ERRNO_CASE(EFBIG)
        ERRNO_CASE(ENOSPC)
        ERRNO_CASE(ESPIPE)
        ERRNO_CASE(EROFS)
        ERRNO_CASE(EMLINK)
        ERRNO_CASE(EPIPE)
        ERRNO_CASE(EDOM)
        ERRNO_CASE(ERANGE)
        ERRNO_CASE(EDEADLK)
        ERRNO_CASE(ENAMETOOLONG)
        ERRNO_CASE(ENOLCK)
        ERRNO_CASE(ENOSYS)
        ERRNO_CASE(ENOTEMPTY)
        ERRNO_CASE(ELOOP)
        ERRNO_CASE(ENOMSG)
        ERRNO_CASE(EIDRM)
        ERRNO_CASE(ENODATA)
        ERRNO_CASE(ETIME)
        ERRNO_CASE(ENOLINK)
        ERRNO_CASE(EPROTO)
        ERRNO_CASE(EBADMSG)
        ERRNO_CASE(EOVERFLOW)
        ERRNO_CASE(EILSEQ)
        ERRNO_CASE(EUSERS)
        ERRNO_CASE(ENOTSOCK)
        ERRNO_CASE(EDESTADDRREQ)
        ERRNO_CASE(EMSGSIZE)
        ERRNO_CASE(EPROTOTYPE)
        ERRNO_CASE(ENOPROTOOPT)
        ERRNO_CASE(EPROTONOSUPPORT)
        ERRNO_CASE(ESOCKTNOSUPPORT)
        ERRNO_CASE(EOPNOTSUPP)
        ERRNO_CASE(EPFNOSUPPORT)
        ERRNO_CASE(EAFNOSUPPORT)
        ERRNO_CASE(EADDRINUSE)
        ERRNO_CASE(EADDRNOTAVAIL)
        ERRNO_CASE(ENETDOWN)
        ERRNO_CASE(ENETUNREACH)
        ERRNO_CASE(ENETRESET)
        ERRNO_CASE(ECONNABORTED)
        ERRNO_CASE(ECONNRESET)
        ERRNO_CASE(ENOBUFS)
        ERRNO_CASE(EISCONN)
        ERRNO_CASE(ENOTCONN)
        ERRNO_CASE(ESHUTDOWN)
        ERRNO_CASE(ETIMEDOUT)
        ERRNO_CASE(ECONNREFUSED)
        ERRNO_CASE(EHOSTDOWN)
        ERRNO_CASE(EHOSTUNREACH)
        ERRNO_CASE(EALREADY)
        ERRNO_CASE(EINPROGRESS)
        ERRNO_CASE(ESTALE)
        ERRNO_CASE(EDQUOT)
        ERRNO_CASE(ENOMEDIUM)
        ERRNO_CASE(ECANCELED)
        ERRNO_CASE(ENOKEY)
        ERRNO_CASE(EKEYEXPIRED)
        ERRNO_CASE(EKEYREVOKED)
        ERRNO_CASE(EKEYREJECTED)
        ERRNO_CASE(EOWNERDEAD)
        ERRNO_CASE(ENOTRECOVERABLE)
    default:
        snprintf(unknown, sizeof unknown, "E%d", e);
        return unknown;
    }
}

/* ------------------------------------------------------------------ */
/* reporting helpers                                                    */
/* ------------------------------------------------------------------ */

/* A system call failed: errno name on stdout, details on stderr. */
static int fail(const char *what)
{
    int e = errno;
    printf("%s\n", errno_name(e));
    fflush(stdout);
    fprintf(stderr, "probe %s: %s: %s (%s)\n", verb, what, errno_name(e), strerror(e));
    return EXIT_SYSCALL;
}

static int usage(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "probe %s: ", verb);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_USAGE;
}

/* Prints a result line and returns EXIT_NEGATIVE. */
static int negative(const char *line)
{
    printf("%s\n", line);
    fflush(stdout);
    fprintf(stderr, "probe %s: %s\n", verb, line);
    return EXIT_NEGATIVE;
}

/* Parses an integer (decimal, 0x hex, 0 octal); 0 on success. */
static int parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 0);
    if (errno || end == s || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int parse_ulong(const char *s, unsigned long *out)
{
    char *end;
    if (*s == '-')
        return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 0);
    if (errno || end == s || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* Copies a whole file to stdout. */
static int cat_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(path);
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            errno = e;
            return fail("read");
        }
        if (n == 0)
            break;
        fwrite(buf, 1, (size_t)n, stdout);
    }
    close(fd);
    return 0;
}

/* ------------------------------------------------------------------ */
/* name tables                                                          */
/* ------------------------------------------------------------------ */

struct name_value {
    const char *name;
    long value;
};

static const struct name_value signals[] = {
    {"HUP", SIGHUP},     {"INT", SIGINT},     {"QUIT", SIGQUIT},   {"ILL", SIGILL},
    {"TRAP", SIGTRAP},   {"ABRT", SIGABRT},   {"BUS", SIGBUS},     {"FPE", SIGFPE},
    {"KILL", SIGKILL},   {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},   {"TERM", SIGTERM},   {"CHLD", SIGCHLD},
    {"CONT", SIGCONT},   {"STOP", SIGSTOP},   {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU},   {"URG", SIGURG},     {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
    {"PWR", SIGPWR},     {"SYS", SIGSYS},     {NULL, 0},
};

static const struct name_value rlimits[] = {
    {"cpu", RLIMIT_CPU},         {"fsize", RLIMIT_FSIZE},
    {"data", RLIMIT_DATA},       {"stack", RLIMIT_STACK},
    {"core", RLIMIT_CORE},       {"rss", RLIMIT_RSS},
    {"nproc", RLIMIT_NPROC},     {"nofile", RLIMIT_NOFILE},
    {"memlock", RLIMIT_MEMLOCK}, {"as", RLIMIT_AS},
    {"locks", RLIMIT_LOCKS},     {"sigpending", RLIMIT_SIGPENDING},
    {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
    {"rtprio", RLIMIT_RTPRIO},   {"rttime", RLIMIT_RTTIME},
    {NULL, 0},
};

static const struct name_value namespaces[] = {
    {"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS},        {"mount", CLONE_NEWNS},
    {"net", CLONE_NEWNET},   {"pid", CLONE_NEWPID},       {"uts", CLONE_NEWUTS},
    {"ipc", CLONE_NEWIPC},   {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
    {NULL, 0},
};

static const struct name_value families[] = {
    {"unix", AF_UNIX},       {"local", AF_UNIX},     {"inet", AF_INET},
    {"inet6", AF_INET6},     {"packet", AF_PACKET},  {"netlink", AF_NETLINK},
    {"key", AF_KEY},         {"alg", AF_ALG},        {"vsock", AF_VSOCK},
    {"can", AF_CAN},         {"bluetooth", AF_BLUETOOTH}, {"tipc", AF_TIPC},
    {"rds", AF_RDS},         {"xdp", 44},            {"appletalk", AF_APPLETALK},
    {"ax25", AF_AX25},       {"x25", AF_X25},        {"decnet", AF_DECnet},
    {NULL, 0},
};

static const struct name_value socktypes[] = {
    {"stream", SOCK_STREAM}, {"dgram", SOCK_DGRAM},         {"raw", SOCK_RAW},
    {"seqpacket", SOCK_SEQPACKET}, {"rdm", SOCK_RDM},       {"packet", SOCK_PACKET},
    {NULL, 0},
};

/* Case-insensitive lookup; an optional prefix (e.g. "SIG", "RLIMIT_") is
 * ignored, and plain numbers are accepted too. */
static int lookup(const struct name_value *t, const char *prefix, const char *s, long *out)
{
    if (parse_long(s, out) == 0)
        return 0;
    size_t pl = prefix ? strlen(prefix) : 0;
    if (pl && strncasecmp(s, prefix, pl) == 0)
        s += pl;
    for (; t->name; t++) {
        if (strcasecmp(t->name, s) == 0) {
            *out = t->value;
            return 0;
        }
    }
    return -1;
}

static const char *signal_name(int sig)
{
    static char buf[24];
    for (const struct name_value *t = signals; t->name; t++) {
        if (t->value == sig) {
            snprintf(buf, sizeof buf, "SIG%s", t->name);
            return buf;
        }
    }
    snprintf(buf, sizeof buf, "SIG%d", sig);
    return buf;
}

/* ------------------------------------------------------------------ */
/* information verbs                                                    */
/* ------------------------------------------------------------------ */

static int v_caps(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    static const char *keys[] = {"CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:",
                                 "NoNewPrivs:", "Seccomp:", "Seccomp_filters:", NULL};
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return fail("open /proc/self/status");
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        for (const char **k = keys; *k; k++) {
            if (strncmp(line, *k, strlen(*k)) == 0) {
                fputs(line, stdout);
                break;
            }
        }
    }
    fclose(f);
    return 0;
}

static void print_ids(void)
{
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    getresuid(&ru, &eu, &su);
    getresgid(&rg, &eg, &sg);
    printf("uid=%u euid=%u suid=%u gid=%u egid=%u sgid=%u groups=", ru, eu, su, rg, eg, sg);
    int n = getgroups(0, NULL);
    if (n > 0) {
        gid_t *g = calloc((size_t)n, sizeof *g);
        if (g) {
            n = getgroups(n, g);
            for (int i = 0; i < n; i++)
                printf("%s%u", i ? "," : "", g[i]);
            free(g);
        }
    }
    printf("\n");
}

static int v_id(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    print_ids();
    return 0;
}

static void print_rlim(rlim_t v)
{
    if (v == RLIM_INFINITY)
        printf("unlimited");
    else
        printf("%llu", (unsigned long long)v);
}

static int v_ulimit(int argc, char **argv)
{
    (void)argc;
    long res;
    if (lookup(rlimits, "RLIMIT_", argv[1], &res))
        return usage("unknown resource %s (nofile, nproc, core, as, ...)", argv[1]);
    struct rlimit rl;
    if (getrlimit((int)res, &rl))
        return fail("getrlimit");
    print_rlim(rl.rlim_cur);
    printf(" ");
    print_rlim(rl.rlim_max);
    printf("\n");
    return 0;
}

static int v_umask(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    mode_t m = umask(0);
    umask(m);
    printf("%04o\n", (unsigned)m);
    return 0;
}

static int v_cwd(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    char buf[PATH_MAX];
    if (!getcwd(buf, sizeof buf))
        return fail("getcwd");
    printf("%s\n", buf);
    return 0;
}

static int v_hostname(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct utsname u;
    if (uname(&u))
        return fail("uname");
    printf("%s\n", u.nodename);
    return 0;
}

static int v_domainname(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct utsname u;
    if (uname(&u))
        return fail("uname");
    printf("%s\n", u.domainname);
    return 0;
}

static int v_env(int argc, char **argv)
{
    if (argc < 2) {
        for (char **e = environ; e && *e; e++)
            printf("%s\n", *e);
        return 0;
    }
    const char *v = getenv(argv[1]);
    if (!v)
        return negative("unset");
    printf("%s\n", v);
    return 0;
}

static int v_pid(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("pid=%d ppid=%d pgid=%d sid=%d\n", (int)getpid(), (int)getppid(), (int)getpgrp(),
           (int)getsid(0));
    return 0;
}

static int v_ns(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    static const char *names[] = {"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts", NULL};
    for (const char **n = names; *n; n++) {
        char path[64], target[128];
        snprintf(path, sizeof path, "/proc/self/ns/%s", *n);
        ssize_t len = readlink(path, target, sizeof target - 1);
        if (len < 0) {
            printf("%s %s\n", *n, errno_name(errno));
            continue;
        }
        target[len] = '\0';
        printf("%s %s\n", *n, target);
    }
    return 0;
}

static int v_sched(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int policy = sched_getscheduler(0);
    if (policy < 0)
        return fail("sched_getscheduler");
    struct sched_param sp;
    if (sched_getparam(0, &sp))
        return fail("sched_getparam");
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, 0);
    if (nice == -1 && errno)
        return fail("getpriority");
    /* ioprio_get(IOPRIO_WHO_PROCESS, self) */
    long io = syscall(SYS_ioprio_get, 1, 0);
    if (io < 0)
        return fail("ioprio_get");
    printf("policy=%d priority=%d nice=%d ioprio_class=%ld ioprio_level=%ld\n", policy & 0xff,
           sp.sched_priority, nice, io >> 13, io & 0x1fff);
    return 0;
}

static int v_affinity(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set))
        return fail("sched_getaffinity");
    int first = 1;
    for (int i = 0; i < CPU_SETSIZE; i++) {
        if (CPU_ISSET(i, &set)) {
            printf("%s%d", first ? "" : ",", i);
            first = 0;
        }
    }
    printf("\n");
    return 0;
}

static int v_tty(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    for (int fd = 0; fd <= 2; fd++) {
        struct winsize ws;
        if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0)
            printf("fd%d=tty rows=%u cols=%u\n", fd, ws.ws_row, ws.ws_col);
        else
            printf("fd%d=notty\n", fd);
    }
    return 0;
}

static const char *file_type(mode_t m)
{
    switch (m & S_IFMT) {
    case S_IFREG: return "file";
    case S_IFDIR: return "dir";
    case S_IFLNK: return "symlink";
    case S_IFCHR: return "char";
    case S_IFBLK: return "block";
    case S_IFIFO: return "fifo";
    case S_IFSOCK: return "socket";
    default: return "unknown";
    }
}

static int v_stat(int argc, char **argv)
{
    (void)argc;
    struct stat st;
    if (lstat(argv[1], &st))
        return fail("lstat");
    printf("type=%s mode=%04o uid=%u gid=%u size=%lld rdev=%u:%u\n", file_type(st.st_mode),
           (unsigned)(st.st_mode & 07777), st.st_uid, st.st_gid, (long long)st.st_size,
           major(st.st_rdev), minor(st.st_rdev));
    return 0;
}

static int list_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return fail(path);
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            printf("%s\n", de->d_name);
        errno = 0;
    }
    int e = errno;
    closedir(d);
    if (e) {
        errno = e;
        return fail("readdir");
    }
    return 0;
}

static int v_ls(int argc, char **argv)
{
    (void)argc;
    return list_dir(argv[1]);
}

static int v_fds(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return fail("opendir /proc/self/fd");
    int self = dirfd(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        long fd;
        if (parse_long(de->d_name, &fd) || fd == self)
            continue;
        char path[64], target[PATH_MAX];
        snprintf(path, sizeof path, "/proc/self/fd/%ld", fd);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n < 0)
            snprintf(target, sizeof target, "?%s", errno_name(errno));
        else
            target[n] = '\0';
        printf("%ld -> %s\n", fd, target);
    }
    closedir(d);
    return 0;
}

static int v_mounts(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cat_file("/proc/self/mountinfo");
}

static int v_cgroup(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cat_file("/proc/self/cgroup");
}

static int v_read(int argc, char **argv)
{
    (void)argc;
    return cat_file(argv[1]);
}

static int write_file(const char *path, const char *data, int flags)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
    if (fd < 0)
        return fail("open");
    size_t len = strlen(data), off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            errno = e;
            return fail("write");
        }
        off += (size_t)n;
    }
    if (close(fd))
        return fail("close");
    printf("wrote %zu\n", len);
    return 0;
}

static int v_write(int argc, char **argv)
{
    (void)argc;
    return write_file(argv[1], argv[2], O_TRUNC);
}

static int v_append(int argc, char **argv)
{
    (void)argc;
    return write_file(argv[1], argv[2], O_APPEND);
}

static int v_mkdir(int argc, char **argv)
{
    (void)argc;
    if (mkdir(argv[1], 0755))
        return fail("mkdir");
    printf("created\n");
    return 0;
}

static int v_chmod(int argc, char **argv)
{
    (void)argc;
    unsigned long mode;
    char *end;
    errno = 0;
    mode = strtoul(argv[2], &end, 8);
    if (errno || *end || end == argv[2])
        return usage("bad octal mode %s", argv[2]);
    if (chmod(argv[1], (mode_t)mode))
        return fail("chmod");
    printf("changed\n");
    return 0;
}

static int v_chown(int argc, char **argv)
{
    (void)argc;
    unsigned long uid, gid;
    if (parse_ulong(argv[2], &uid) || parse_ulong(argv[3], &gid))
        return usage("uid and gid must be numbers");
    if (lchown(argv[1], (uid_t)uid, (gid_t)gid))
        return fail("lchown");
    printf("changed\n");
    return 0;
}

/* ------------------------------------------------------------------ */
/* privilege and escape attempts                                        */
/* ------------------------------------------------------------------ */

static int v_chroot_escape(int argc, char **argv)
{
    const char *hostpath = argv[1];
    const char *work = argc > 2 ? argv[2] : "/tmp";
    char name[64];
    snprintf(name, sizeof name, ".probe-escape-%d", (int)getpid());

    int wfd = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (wfd < 0)
        return fail("open workdir");
    if (mkdirat(wfd, name, 0700) && errno != EEXIST)
        return fail("mkdir");
    if (fchdir(wfd))
        return fail("chdir workdir");
    /* Enter a subdirectory as root while the cwd stays outside it. */
    if (chroot(name)) {
        int e = errno;
        unlinkat(wfd, name, AT_REMOVEDIR);
        errno = e;
        return fail("chroot");
    }
    unlinkat(wfd, name, AT_REMOVEDIR);
    for (int i = 0; i < 1024; i++) {
        if (chdir(".."))
            return fail("chdir ..");
    }
    if (chroot("."))
        return fail("chroot .");
    struct stat st;
    if (stat(hostpath, &st) == 0) {
        printf("escaped\n");
        return 0;
    }
    return negative("contained");
}

static int v_open_root(int argc, char **argv)
{
    (void)argc;
    char path[64];
    snprintf(path, sizeof path, "/proc/%s/root/", argv[1]);
    return list_dir(path);
}

static int v_ptrace(int argc, char **argv)
{
    (void)argc;
    long pid;
    if (parse_long(argv[1], &pid))
        return usage("bad pid %s", argv[1]);
    if (ptrace(PTRACE_ATTACH, (pid_t)pid, NULL, NULL))
        return fail("ptrace(PTRACE_ATTACH)");
    int st;
    waitpid((pid_t)pid, &st, __WALL);
    ptrace(PTRACE_DETACH, (pid_t)pid, NULL, NULL);
    printf("attached\n");
    return 0;
}

static int v_mknod(int argc, char **argv)
{
    unsigned long maj, min;
    if (parse_ulong(argv[2], &maj) || parse_ulong(argv[3], &min))
        return usage("major and minor must be numbers");
    mode_t type = S_IFBLK;
    if (argc > 4) {
        if (strcmp(argv[4], "c") == 0)
            type = S_IFCHR;
        else if (strcmp(argv[4], "b") != 0)
            return usage("type must be b or c");
    }
    if (mknod(argv[1], type | 0600, makedev(maj, min)))
        return fail("mknod");
    printf("created\n");
    return 0;
}

static int v_open_by_handle(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/";
    struct file_handle *h = malloc(sizeof *h + MAX_HANDLE_SZ);
    if (!h)
        return fail("malloc");
    h->handle_bytes = MAX_HANDLE_SZ;
    int mount_id;
    if (name_to_handle_at(AT_FDCWD, path, h, &mount_id, 0))
        return fail("name_to_handle_at");
    int mfd = open(path, O_RDONLY | O_CLOEXEC);
    if (mfd < 0)
        return fail("open");
    int fd = open_by_handle_at(mfd, h, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail("open_by_handle_at");
    printf("opened\n");
    return 0;
}

static int v_init_module(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (syscall(SYS_init_module, NULL, 0UL, "") == 0) {
        printf("loaded\n");
        return 0;
    }
    return fail("init_module");
}

static int v_finit_module(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (syscall(SYS_finit_module, fd, "", 0) == 0) {
        printf("loaded\n");
        return 0;
    }
    return fail("finit_module");
}

static int v_keyctl(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    long id = syscall(SYS_add_key, "user", "probe-key", "probe", 5UL, KEY_SPEC_PROCESS_KEYRING);
    if (id < 0)
        return fail("add_key");
    printf("key %ld\n", id);
    return 0;
}

static int v_unshare(int argc, char **argv)
{
    (void)argc;
    long flag;
    if (lookup(namespaces, NULL, argv[1], &flag))
        return usage("unknown namespace %s (user, mnt, net, pid, uts, ipc, cgroup, time)", argv[1]);
    if (unshare((int)flag))
        return fail("unshare");
    printf("unshared\n");
    return 0;
}

static int v_unshare_user(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (unshare(CLONE_NEWUSER))
        return fail("unshare(CLONE_NEWUSER)");
    printf("unshared\n");
    return 0;
}

/* fork-like raw clone with extra namespace flags. */
static int clone_with(long flags)
{
    fflush(stdout);
    fflush(stderr);
    long pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid < 0)
        return fail("clone");
    if (pid == 0)
        syscall(SYS_exit_group, 0);
    int st;
    if (waitpid((pid_t)pid, &st, 0) < 0)
        return fail("waitpid");
    printf("cloned\n");
    return 0;
}

static int v_clone_user(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return clone_with(CLONE_NEWUSER);
}

static int v_clone(int argc, char **argv)
{
    (void)argc;
    long flag;
    if (lookup(namespaces, NULL, argv[1], &flag))
        return usage("unknown namespace %s", argv[1]);
    return clone_with(flag);
}

static int v_setns(int argc, char **argv)
{
    (void)argc;
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail("open");
    if (setns(fd, 0))
        return fail("setns");
    printf("joined\n");
    return 0;
}

static int v_mount(int argc, char **argv)
{
    const char *target = argc > 1 ? argv[1] : NULL;
    struct stat st;
    if (!target)
        target = stat("/mnt", &st) == 0 ? "/mnt" : stat("/tmp", &st) == 0 ? "/tmp" : "/";
    if (mount("probe", target, "tmpfs", 0, "size=1m"))
        return fail("mount");
    printf("mounted\n");
    umount2(target, MNT_DETACH);
    return 0;
}

static int v_personality(int argc, char **argv)
{
    (void)argc;
    unsigned long v;
    if (strcmp(argv[1], "linux") == 0)
        v = PER_LINUX;
    else if (strcmp(argv[1], "linux32") == 0)
        v = PER_LINUX32;
    else if (strcmp(argv[1], "query") == 0)
        v = 0xffffffffUL;
    else if (parse_ulong(argv[1], &v))
        return usage("bad persona %s", argv[1]);
    int prev = personality(v);
    if (prev == -1)
        return fail("personality");
    printf("previous 0x%x\n", (unsigned)prev);
    return 0;
}

static int v_setuid(int argc, char **argv)
{
    (void)argc;
    unsigned long uid;
    if (parse_ulong(argv[1], &uid))
        return usage("bad uid %s", argv[1]);
    if (setuid((uid_t)uid))
        return fail("setuid");
    print_ids();
    return 0;
}

static int v_setgid(int argc, char **argv)
{
    (void)argc;
    unsigned long gid;
    if (parse_ulong(argv[1], &gid))
        return usage("bad gid %s", argv[1]);
    if (setgid((gid_t)gid))
        return fail("setgid");
    print_ids();
    return 0;
}

static int v_setgroups(int argc, char **argv)
{
    gid_t groups[64];
    size_t n = 0;
    for (int i = 1; i < argc && n < 64; i++) {
        unsigned long g;
        if (parse_ulong(argv[i], &g))
            return usage("bad gid %s", argv[i]);
        groups[n++] = (gid_t)g;
    }
    if (setgroups(n, groups))
        return fail("setgroups");
    print_ids();
    return 0;
}

static int v_sethostname(int argc, char **argv)
{
    (void)argc;
    if (sethostname(argv[1], strlen(argv[1])))
        return fail("sethostname");
    printf("set\n");
    return 0;
}

static int v_tiocsti(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    char c = '\n';
    if (ioctl(0, TIOCSTI, &c))
        return fail("ioctl(TIOCSTI)");
    printf("injected\n");
    return 0;
}

static int v_exec(int argc, char **argv)
{
    /* argv[1] is the program; it also becomes the new argv[0]. */
    char **args = calloc((size_t)argc, sizeof *args);
    if (!args)
        return fail("calloc");
    for (int i = 1; i < argc; i++)
        args[i - 1] = argv[i];
    fflush(stdout);
    fflush(stderr);
    execve(argv[1], args, environ);
    return fail("execve");
}

static int v_kill(int argc, char **argv)
{
    (void)argc;
    long pid, sig;
    if (parse_long(argv[1], &pid))
        return usage("bad pid %s", argv[1]);
    if (lookup(signals, "SIG", argv[2], &sig))
        return usage("bad signal %s", argv[2]);
    if (kill((pid_t)pid, (int)sig))
        return fail("kill");
    printf("sent\n");
    return 0;
}

/* ------------------------------------------------------------------ */
/* restricted syscalls                                                  */
/* ------------------------------------------------------------------ */

static int v_bpf(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 4;
    attr.max_entries = 1;
    long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
    if (fd < 0)
        return fail("bpf(BPF_MAP_CREATE)");
    printf("map fd %ld\n", fd);
    return 0;
}

static int v_perf_event_open(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.type = PERF_TYPE_SOFTWARE;
    a.size = sizeof a;
    a.config = PERF_COUNT_SW_TASK_CLOCK;
    a.disabled = 1;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    long fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0)
        return fail("perf_event_open");
    printf("fd %ld\n", fd);
    return 0;
}

static int v_userfaultfd(int argc, char **argv)
{
    long flags = O_CLOEXEC | O_NONBLOCK;
    if (argc > 1 && strcmp(argv[1], "user") == 0)
        flags |= UFFD_USER_MODE_ONLY;
    long fd = syscall(SYS_userfaultfd, flags);
    if (fd < 0)
        return fail("userfaultfd");
    printf("fd %ld\n", fd);
    return 0;
}

static int v_io_uring_setup(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    long fd = syscall(SYS_io_uring_setup, 4, &p);
    if (fd < 0)
        return fail("io_uring_setup");
    printf("fd %ld\n", fd);
    return 0;
}

static int v_syscall(int argc, char **argv)
{
    long nr, a[6] = {0, 0, 0, 0, 0, 0};
    if (parse_long(argv[1], &nr))
        return usage("bad syscall number %s", argv[1]);
    for (int i = 2; i < argc && i < 8; i++) {
        if (parse_long(argv[i], &a[i - 2]))
            return usage("bad argument %s", argv[i]);
    }
    long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    if (r == -1)
        return fail("syscall");
    printf("ret %ld\n", r);
    return 0;
}

/* ------------------------------------------------------------------ */
/* network                                                              */
/* ------------------------------------------------------------------ */

/* Fills a numeric IPv4/IPv6 address; returns the length or 0. */
static socklen_t make_addr(const char *host, long port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        return sizeof *in4;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        return sizeof *in6;
    }
    return 0;
}

/* HOST PORT arguments as a socket address: 0, or usage()'s exit code for a bad one. */
static int parse_host_port(const char *host, const char *port_s, struct sockaddr_storage *ss, socklen_t *len)
{
    long port;
    if (parse_long(port_s, &port) || port < 0 || port > 65535)
        return usage("bad port %s", port_s);
    *len = make_addr(host, port, ss);
    if (!*len)
        return usage("host must be a numeric IPv4 or IPv6 address");
    return 0;
}


/* ------------------------------------------------------------------ */
/* set-id files, memfd execution, TCP Fast Open (escapes_misc tests)    */
/* ------------------------------------------------------------------ */

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif

struct open_how_probe {
    uint64_t flags, mode, resolve;
};

/* Gives PATH mode 06755 through one call; prints the resulting mode. "plain" is the
 * control: fchmodat(PATH, 0755). PATH is (re)created first where the call needs it. */
static int v_setid(int argc, char **argv)
{
    (void)argc;
    const char *path = argv[1], *how = argv[2];
    const mode_t m = 06755;
    long r;
    int creating = !strcmp(how, "mknod") || !strcmp(how, "open") || !strcmp(how, "openat") ||
                   !strcmp(how, "creat") || !strcmp(how, "openat2");
    if (creating) {
        unlink(path);
    } else {
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return fail("create");
        close(fd);
    }
    if (!strcmp(how, "plain")) {
        r = syscall(SYS_fchmodat, AT_FDCWD, path, 0755);
#ifdef SYS_chmod
    } else if (!strcmp(how, "chmod")) {
        r = syscall(SYS_chmod, path, m);
#endif
    } else if (!strcmp(how, "fchmod")) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return fail("open");
        r = syscall(SYS_fchmod, fd, m);
    } else if (!strcmp(how, "fchmodat")) {
        r = syscall(SYS_fchmodat, AT_FDCWD, path, m);
    } else if (!strcmp(how, "fchmodat2")) {
        r = syscall(452 /* fchmodat2 */, AT_FDCWD, path, m, 0);
    } else if (!strcmp(how, "mknod")) {
        r = syscall(SYS_mknodat, AT_FDCWD, path, S_IFREG | m, 0);
#ifdef SYS_open
    } else if (!strcmp(how, "open")) {
        r = syscall(SYS_open, path, O_WRONLY | O_CREAT | O_CLOEXEC, m);
#endif
    } else if (!strcmp(how, "openat")) {
        r = syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_CLOEXEC, m);
#ifdef SYS_creat
    } else if (!strcmp(how, "creat")) {
        r = syscall(SYS_creat, path, m);
#endif
    } else if (!strcmp(how, "openat2")) {
        struct open_how_probe oh = {.flags = O_WRONLY | O_CREAT | O_CLOEXEC, .mode = m, .resolve = 0};
        r = syscall(437 /* openat2 */, AT_FDCWD, path, &oh, sizeof oh);
    } else {
        return usage("HOW must be plain, chmod, fchmod, fchmodat, fchmodat2, mknod, open, openat, creat or openat2");
    }
    if (r < 0)
        return fail(how);
    struct stat st;
    if (stat(path, &st))
        return fail("stat");
    printf("mode %04o\n", (unsigned)(st.st_mode & 07777));
    return 0;
}

/* Copies this probe into a memfd created with FLAGS (exec|plain) and runs it from there
 * with `probe env PROBE_MEMFD`: stdout "ran" means code ran from memory. */
static int v_memfd_exec(int argc, char **argv)
{
    (void)argc;
    unsigned flags;
    if (!strcmp(argv[1], "exec"))
        flags = MFD_EXEC;
    else if (!strcmp(argv[1], "plain"))
        flags = 0;
    else
        return usage("FLAGS must be exec or plain");
    int mfd = (int)syscall(SYS_memfd_create, "probe", flags);
    if (mfd < 0)
        return fail("memfd_create");
    int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (self < 0)
        return fail("open /proc/self/exe");
    char buf[65536];
    ssize_t n;
    while ((n = read(self, buf, sizeof buf)) > 0) {
        if (write(mfd, buf, (size_t)n) != n)
            return fail("write memfd");
    }
    if (n < 0)
        return fail("read /proc/self/exe");
    char *args[] = {"probe", "env", "PROBE_MEMFD", NULL};
    char *env[] = {"PROBE_MEMFD=ran", NULL};
    fflush(stdout);
    syscall(SYS_execveat, mfd, "", args, env, AT_EMPTY_PATH);
    return fail("execveat");
}

/* One byte to HOST:PORT over TCP: "plain" connects then sends ("mptcp" the same over an
 * IPPROTO_MPTCP socket); "fastopen-connect" sets
 * TCP_FASTOPEN_CONNECT first; "sendto"/"sendmsg" use MSG_FASTOPEN, which connects inside
 * the send call. */
static int v_tfo_send(int argc, char **argv)
{
    (void)argc;
    struct sockaddr_storage ss;
    socklen_t len;
    int bad = parse_host_port(argv[1], argv[2], &ss, &len);
    if (bad)
        return bad;
    int mptcp = !strcmp(argv[3], "mptcp");
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, mptcp ? 262 /* IPPROTO_MPTCP */ : 0);
    if (fd < 0)
        return fail("socket");
    ssize_t r;
    if (!strcmp(argv[3], "plain") || mptcp) {
        if (connect(fd, (struct sockaddr *)&ss, len))
            return fail("connect");
        r = send(fd, "x", 1, MSG_NOSIGNAL);
    } else if (!strcmp(argv[3], "fastopen-connect")) {
        int one = 1;
        if (setsockopt(fd, IPPROTO_TCP, 30 /* TCP_FASTOPEN_CONNECT */, &one, sizeof one))
            return fail("setsockopt(TCP_FASTOPEN_CONNECT)");
        if (connect(fd, (struct sockaddr *)&ss, len))
            return fail("connect");
        r = send(fd, "x", 1, MSG_NOSIGNAL);
    } else if (!strcmp(argv[3], "sendto")) {
        r = sendto(fd, "x", 1, MSG_FASTOPEN | MSG_NOSIGNAL, (struct sockaddr *)&ss, len);
    } else if (!strcmp(argv[3], "sendmsg")) {
        struct iovec iov = {.iov_base = "x", .iov_len = 1};
        struct msghdr mh = {.msg_name = &ss, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1};
        r = sendmsg(fd, &mh, MSG_FASTOPEN | MSG_NOSIGNAL);
    } else {
        return usage("MODE must be plain, mptcp, fastopen-connect, sendto or sendmsg");
    }
    if (r < 0)
        return fail(argv[3]);
    printf("sent %zd\n", r);
    return 0;
}

static int v_socket(int argc, char **argv)
{
    long fam, type, proto = 0;
    if (lookup(families, "AF_", argv[1], &fam))
        return usage("unknown family %s", argv[1]);
    if (lookup(socktypes, "SOCK_", argv[2], &type))
        return usage("unknown type %s", argv[2]);
    if (argc > 3) {
        if (parse_long(argv[3], &proto))
            return usage("bad protocol %s", argv[3]);
    } else if (fam == AF_PACKET) {
        proto = htons(ETH_P_ALL);
    } else if (fam == AF_INET && type == SOCK_RAW) {
        proto = IPPROTO_ICMP;
    } else if (fam == AF_INET6 && type == SOCK_RAW) {
        proto = IPPROTO_ICMPV6;
    }
    int fd = socket((int)fam, (int)type | SOCK_CLOEXEC, (int)proto);
    if (fd < 0)
        return fail("socket");
    printf("socket ok\n");
    return 0;
}

static int v_connect(int argc, char **argv)
{
    long port, timeout = 5;
    if (parse_long(argv[2], &port) || port < 0 || port > 65535)
        return usage("bad port %s", argv[2]);
    if (argc > 3 && parse_long(argv[3], &timeout))
        return usage("bad timeout %s", argv[3]);
    struct sockaddr_storage ss;
    socklen_t len = make_addr(argv[1], port, &ss);
    if (!len)
        return usage("host must be a numeric IPv4 or IPv6 address");
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail("socket");
    struct timeval tv = {.tv_sec = timeout, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&ss, len))
        return fail("connect");
    printf("connected\n");
    return 0;
}

static int v_bind(int argc, char **argv)
{
    long port;
    if (parse_long(argv[1], &port) || port < 0 || port > 65535)
        return usage("bad port %s", argv[1]);
    const char *host = argc > 2 ? argv[2] : "127.0.0.1";
    struct sockaddr_storage ss;
    socklen_t len = make_addr(host, port, &ss);
    if (!len)
        return usage("host must be a numeric IPv4 or IPv6 address");
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail("socket");
    if (bind(fd, (struct sockaddr *)&ss, len))
        return fail("bind");
    if (listen(fd, 1))
        return fail("listen");
    struct sockaddr_storage got;
    socklen_t glen = sizeof got;
    if (getsockname(fd, (struct sockaddr *)&got, &glen))
        return fail("getsockname");
    int p = got.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&got)->sin_port)
                                     : ntohs(((struct sockaddr_in6 *)&got)->sin6_port);
    printf("bound %d\n", p);
    return 0;
}

static int v_udp_send(int argc, char **argv)
{
    (void)argc;
    struct sockaddr_storage ss;
    socklen_t len;
    int bad = parse_host_port(argv[1], argv[2], &ss, &len);
    if (bad)
        return bad;
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail("socket");
    static const char msg[] = "probe\n";
    ssize_t n = sendto(fd, msg, sizeof msg - 1, 0, (struct sockaddr *)&ss, len);
    if (n < 0)
        return fail("sendto");
    printf("sent %zd\n", n);
    return 0;
}

/* Builds an AF_UNIX address; abstract when `abstract` is set. */
static socklen_t make_unix(const char *name, int abstract, struct sockaddr_un *un)
{
    memset(un, 0, sizeof *un);
    un->sun_family = AF_UNIX;
    size_t n = strlen(name);
    size_t max = sizeof un->sun_path - 1; /* NUL or the abstract lead byte */
    if (n > max)
        return 0;
    if (abstract) {
        memcpy(un->sun_path + 1, name, n);
        return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
    }
    memcpy(un->sun_path, name, n);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

static int unix_connect(const char *name, int abstract, const char *type_name)
{
    long type = SOCK_STREAM;
    if (type_name && lookup(socktypes, "SOCK_", type_name, &type))
        return usage("unknown type %s", type_name);
    struct sockaddr_un un;
    socklen_t len = make_unix(name, abstract, &un);
    if (!len)
        return usage("name too long");
    int fd = socket(AF_UNIX, (int)type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail("socket");
    if (connect(fd, (struct sockaddr *)&un, len))
        return fail("connect");
    printf("connected\n");
    return 0;
}

static int v_abstract_connect(int argc, char **argv)
{
    return unix_connect(argv[1], 1, argc > 2 ? argv[2] : NULL);
}

static int v_unix_connect(int argc, char **argv)
{
    return unix_connect(argv[1], 0, argc > 2 ? argv[2] : NULL);
}

/* sd_notify(3) by hand: one datagram to $NOTIFY_SOCKET. */
static int v_notify(int argc, char **argv)
{
    (void)argc;
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path) {
        printf("unset\n");
        return 3;
    }
    struct sockaddr_un un;
    socklen_t len = make_unix(path, 0, &un);
    if (!len)
        return usage("NOTIFY_SOCKET too long");
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail("socket");
    if (sendto(fd, argv[1], strlen(argv[1]), 0, (struct sockaddr *)&un, len) < 0)
        return fail("sendto");
    printf("sent\n");
    return 0;
}

/* A listening AF_UNIX stream socket bound to `un`; on failure -1 with errno set and *step
 * naming the call that failed (socket, bind or listen), for fail(). */
static int unix_listener(const struct sockaddr_un *un, socklen_t len, const char **step)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *step = "socket";
        return -1;
    }
    if (bind(fd, (const struct sockaddr *)un, len)) {
        *step = "bind";
        return -1;
    }
    if (listen(fd, 4)) {
        *step = "listen";
        return -1;
    }
    return fd;
}

static int v_abstract_listen(int argc, char **argv)
{
    (void)argc;
    struct sockaddr_un un;
    socklen_t len = make_unix(argv[1], 1, &un);
    if (!len)
        return usage("name too long");
    const char *step;
    int fd = unix_listener(&un, len, &step);
    if (fd < 0)
        return fail(step);
    printf("listening\n");
    fflush(stdout);
    int c = accept(fd, NULL, NULL);
    if (c < 0)
        return fail("accept");
    printf("accepted\n");
    return 0;
}

/* ------------------------------------------------------------------ */
/* process control                                                      */
/* ------------------------------------------------------------------ */

static void sleep_seconds(double s)
{
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) && errno == EINTR) {
    }
}

static int v_sleep(int argc, char **argv)
{
    (void)argc;
    char *end;
    double s = strtod(argv[1], &end);
    if (end == argv[1] || *end || s < 0)
        return usage("bad duration %s", argv[1]);
    sleep_seconds(s);
    printf("slept\n");
    return 0;
}

static int v_exit(int argc, char **argv)
{
    (void)argc;
    long code;
    if (parse_long(argv[1], &code))
        return usage("bad exit code %s", argv[1]);
    fflush(stdout);
    return (int)(code & 0xff);
}

static int v_sigwait(int argc, char **argv)
{
    sigset_t set;
    sigemptyset(&set);
    if (argc < 2) {
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
    }
    for (int i = 1; i < argc; i++) {
        long sig;
        if (lookup(signals, "SIG", argv[i], &sig))
            return usage("bad signal %s", argv[i]);
        sigaddset(&set, (int)sig);
    }
    if (sigprocmask(SIG_BLOCK, &set, NULL))
        return fail("sigprocmask");
    printf("waiting\n");
    fflush(stdout);
    int sig;
    int r = sigwait(&set, &sig);
    if (r) {
        errno = r;
        return fail("sigwait");
    }
    printf("%s\n", signal_name(sig));
    return 0;
}

static int v_alloc(int argc, char **argv)
{
    unsigned long mb;
    if (parse_ulong(argv[1], &mb))
        return usage("bad size %s", argv[1]);
    size_t len = (size_t)mb << 20;
    char *p = mmap(NULL, len ? len : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return fail("mmap");
    long page = sysconf(_SC_PAGESIZE);
    for (size_t off = 0; off < len; off += (size_t)page)
        p[off] = (char)1;
    printf("allocated %lu MB\n", mb);
    if (argc > 2) {
        fflush(stdout);
        sleep_seconds(strtod(argv[2], NULL));
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* dispatch                                                             */
/* ------------------------------------------------------------------ */

static int v_after(int argc, char **argv);

struct verb {
    const char *name;
    int min_args; /* not counting the verb */
    int max_args; /* -1: unlimited */
    int (*fn)(int argc, char **argv);
    const char *help;
};

/* ================================================================== */
/* host network guard (escapes_net.rs): MPTCP, fast open, listen       */
/* without bind, abstract binds, UDP. Kept together at the end.        */
/* ================================================================== */

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif

/* Reads what the peer sends within 3 s; prints 'read TEXT' (exit 0) or fails. */
static int net_read_token(int fd)
{
    struct timeval tv = {.tv_sec = 3, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[128];
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    if (n < 0)
        return fail("recv");
    buf[n] = 0;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\n')
            buf[i] = 0;
    printf("read %s\n", buf);
    return 0;
}

/* tcp-reach MODE HOST PORT: reach a TCP listener and read what it sends.
 * MODE: connect | mptcp (connect on an MPTCP socket) | fo-sendto | fo-sendmsg |
 * fo-sendmmsg (TCP fast open: data with MSG_FASTOPEN on an unconnected socket) |
 * mptcp-fo-sendto. */
static int v_tcp_reach(int argc, char **argv)
{
    (void)argc;
    const char *mode = argv[1];
    struct sockaddr_storage ss;
    socklen_t len;
    int bad = parse_host_port(argv[2], argv[3], &ss, &len);
    if (bad)
        return bad;
    int mptcp = strncmp(mode, "mptcp", 5) == 0;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, mptcp ? IPPROTO_MPTCP : 0);
    if (fd < 0)
        return fail("socket");
    struct timeval tv = {.tv_sec = 3, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    static char hello[] = "hi\n";
    if (!strcmp(mode, "connect") || !strcmp(mode, "mptcp")) {
        if (connect(fd, (struct sockaddr *)&ss, len))
            return fail("connect");
    } else if (!strcmp(mode, "fo-sendto") || !strcmp(mode, "mptcp-fo-sendto")) {
        if (sendto(fd, hello, 3, MSG_FASTOPEN, (struct sockaddr *)&ss, len) < 0)
            return fail("sendto");
    } else if (!strcmp(mode, "fo-sendmsg") || !strcmp(mode, "fo-sendmmsg")) {
        struct iovec iov = {.iov_base = hello, .iov_len = 3};
        struct msghdr mh = {.msg_name = &ss, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1};
        if (!strcmp(mode, "fo-sendmsg")) {
            if (sendmsg(fd, &mh, MSG_FASTOPEN) < 0)
                return fail("sendmsg");
        } else {
            struct mmsghdr mm = {.msg_hdr = mh};
            if (sendmmsg(fd, &mm, 1, MSG_FASTOPEN) < 0)
                return fail("sendmmsg");
        }
    } else {
        return usage("unknown mode %s", mode);
    }
    return net_read_token(fd);
}

/* tcp-listen PORT|unbound FILE SECONDS [mptcp]: listen on 0.0.0.0:PORT (or without any
 * bind), write the port to FILE, then wait SECONDS for one connection:
 * 'accepted' (exit 0) or 'no connection' (exit 3). */
static int v_tcp_listen(int argc, char **argv)
{
    int mptcp = argc > 4 && !strcmp(argv[4], "mptcp");
    double secs = atof(argv[3]);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, mptcp ? IPPROTO_MPTCP : 0);
    if (fd < 0)
        return fail("socket");
    if (strcmp(argv[1], "unbound")) {
        long port;
        if (parse_long(argv[1], &port) || port < 0 || port > 65535)
            return usage("bad port %s", argv[1]);
        struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&in, sizeof in))
            return fail("bind");
    }
    if (listen(fd, 4))
        return fail("listen");
    struct sockaddr_in got;
    socklen_t glen = sizeof got;
    if (getsockname(fd, (struct sockaddr *)&got, &glen))
        return fail("getsockname");
    char line[32];
    int n = snprintf(line, sizeof line, "%d\n", ntohs(got.sin_port));
    int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0 || write(out, line, (size_t)n) != n)
        return fail("write port file");
    close(out);
    printf("listening %d\n", ntohs(got.sin_port));
    fflush(stdout);
    struct timeval tv = {.tv_sec = (time_t)secs, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int c = accept(fd, NULL, NULL);
    if (c < 0)
        return negative("no connection");
    printf("accepted\n");
    return 0;
}

/* abstract-bind NAME [SECONDS]: bind @NAME (NAME '-' = autobind form, addrlen 2),
 * listen, print 'bound', and hold it SECONDS (default 0). */
static int v_abstract_bind(int argc, char **argv)
{
    struct sockaddr_un un;
    socklen_t len;
    if (!strcmp(argv[1], "-")) {
        memset(&un, 0, sizeof un);
        un.sun_family = AF_UNIX;
        len = sizeof(sa_family_t);
    } else {
        len = make_unix(argv[1], 1, &un);
        if (!len)
            return usage("name too long");
    }
    const char *step;
    int fd = unix_listener(&un, len, &step);
    if (fd < 0)
        return fail(step);
    printf("bound\n");
    fflush(stdout);
    if (argc > 2)
        sleep_seconds(atof(argv[2]));
    return 0;
}

/* unix-bind PATH: bind+listen a filesystem socket, connect to it, 'connected'. */
static int v_unix_bind(int argc, char **argv)
{
    (void)argc;
    struct sockaddr_un un;
    socklen_t len = make_unix(argv[1], 0, &un);
    if (!len)
        return usage("path too long");
    const char *step;
    int fd = unix_listener(&un, len, &step);
    if (fd < 0)
        return fail(step);
    int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&un, len))
        return fail("connect");
    printf("connected\n");
    return 0;
}

/* udp-connect-send HOST PORT: connect a UDP socket, then send; 'sent N'. */
static int v_udp_connect_send(int argc, char **argv)
{
    (void)argc;
    struct sockaddr_storage ss;
    socklen_t len;
    int bad = parse_host_port(argv[1], argv[2], &ss, &len);
    if (bad)
        return bad;
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail("socket");
    if (connect(fd, (struct sockaddr *)&ss, len))
        return fail("connect");
    ssize_t n = send(fd, "probe\n", 6, 0);
    if (n < 0)
        return fail("send");
    printf("sent %zd\n", n);
    return 0;
}

/* udp-bind PORT [HOST=127.0.0.1]: bind a UDP socket; 'bound PORT'. */
static int v_udp_bind(int argc, char **argv)
{
    long port;
    if (parse_long(argv[1], &port) || port < 0 || port > 65535)
        return usage("bad port %s", argv[1]);
    struct sockaddr_storage ss;
    socklen_t len = make_addr(argc > 2 ? argv[2] : "127.0.0.1", port, &ss);
    if (!len)
        return usage("host must be a numeric IPv4 or IPv6 address");
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail("socket");
    if (bind(fd, (struct sockaddr *)&ss, len))
        return fail("bind");
    printf("bound %ld\n", port);
    return 0;
}

/* io_uring-net OP HOST PORT: one network operation through io_uring, which seccomp never
 * sees. OP: socket-mptcp (IORING_OP_SOCKET, IPPROTO_MPTCP) | connect (IORING_OP_CONNECT
 * on a TCP socket) | fo-sendmsg (IORING_OP_SENDMSG with MSG_FASTOPEN). Prints the errno
 * name (exit 1) or, after a connection, 'read TOKEN'. */
static int uring_one(struct io_uring_sqe *in)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    int ring = (int)syscall(SYS_io_uring_setup, 2, &p);
    if (ring < 0)
        return -errno - 10000;
    size_t sq_sz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_sz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    if (p.features & IORING_FEAT_SINGLE_MMAP)
        sq_sz = cq_sz = sq_sz > cq_sz ? sq_sz : cq_sz;
    char *sq = mmap(NULL, sq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
    char *cq = (p.features & IORING_FEAT_SINGLE_MMAP)
                   ? sq
                   : mmap(NULL, cq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_CQ_RING);
    struct io_uring_sqe *sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                                     MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
    if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED)
        return -errno - 10000;
    unsigned *tail = (unsigned *)(sq + p.sq_off.tail);
    unsigned mask = *(unsigned *)(sq + p.sq_off.ring_mask);
    unsigned *array = (unsigned *)(sq + p.sq_off.array);
    unsigned t = *tail;
    sqes[t & mask] = *in;
    array[t & mask] = t & mask;
    __atomic_store_n(tail, t + 1, __ATOMIC_RELEASE);
    if (syscall(SYS_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
        return -errno - 10000;
    unsigned head = *(unsigned *)(cq + p.cq_off.head);
    unsigned cmask = *(unsigned *)(cq + p.cq_off.ring_mask);
    struct io_uring_cqe *cqe = (struct io_uring_cqe *)(cq + p.cq_off.cqes) + (head & cmask);
    return cqe->res;
}

static int v_uring_net(int argc, char **argv)
{
    (void)argc;
    long port;
    if (parse_long(argv[3], &port) || port < 0 || port > 65535)
        return usage("bad port %s", argv[3]);
    static struct sockaddr_storage ss;
    socklen_t len = make_addr(argv[2], port, &ss);
    if (!len)
        return usage("host must be a numeric IPv4 or IPv6 address");
    struct io_uring_sqe sqe;
    memset(&sqe, 0, sizeof sqe);
    int fd = -1;
    static char hello[] = "hi\n";
    static struct iovec iov;
    static struct msghdr mh;
    if (!strcmp(argv[1], "socket-mptcp")) {
        sqe.opcode = IORING_OP_SOCKET;
        sqe.fd = ss.ss_family;
        sqe.off = SOCK_STREAM;
        sqe.len = IPPROTO_MPTCP;
    } else {
        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return fail("socket");
        sqe.fd = fd;
        if (!strcmp(argv[1], "connect")) {
            sqe.opcode = IORING_OP_CONNECT;
            sqe.addr = (uint64_t)(uintptr_t)&ss;
            sqe.off = len;
        } else if (!strcmp(argv[1], "fo-sendmsg")) {
            iov.iov_base = hello;
            iov.iov_len = 3;
            mh.msg_name = &ss;
            mh.msg_namelen = len;
            mh.msg_iov = &iov;
            mh.msg_iovlen = 1;
            sqe.opcode = IORING_OP_SENDMSG;
            sqe.addr = (uint64_t)(uintptr_t)&mh;
            sqe.len = 1;
            sqe.msg_flags = MSG_FASTOPEN;
        } else {
            return usage("unknown op %s", argv[1]);
        }
    }
    int res = uring_one(&sqe);
    if (res <= -10000) {
        errno = -(res + 10000);
        return fail("io_uring");
    }
    /* io_uring issues the send non-blocking: EINPROGRESS means the SYN went out. */
    if (res < 0 && res != -EINPROGRESS) {
        errno = -res;
        return fail(argv[1]);
    }
    if (!strcmp(argv[1], "socket-mptcp")) {
        printf("socket ok\n");
        return 0;
    }
    return net_read_token(fd);
}

/* ================================================================== */
/* end of the host network guard block                                 */
/* ================================================================== */

static int v_help(int argc, char **argv);

static const struct verb verbs[] = {
    {"help", 0, 0, v_help, "list verbs"},
    /* information */
    {"caps", 0, 0, v_caps, "Cap*/NoNewPrivs/Seccomp lines of /proc/self/status"},
    {"id", 0, 0, v_id, "uid= euid= suid= gid= egid= sgid= groups=a,b"},
    {"ulimit", 1, 1, v_ulimit, "NAME: 'soft hard' (nofile, nproc, core, as, ...)"},
    {"umask", 0, 0, v_umask, "octal umask"},
    {"cwd", 0, 0, v_cwd, "working directory"},
    {"hostname", 0, 0, v_hostname, "uts nodename"},
    {"domainname", 0, 0, v_domainname, "uts domainname"},
    {"env", 0, 1, v_env, "[NAME]: value (exit 3 'unset'), or the whole environment"},
    {"pid", 0, 0, v_pid, "pid= ppid= pgid= sid="},
    {"ns", 0, 0, v_ns, "namespace links of /proc/self/ns"},
    {"sched", 0, 0, v_sched, "policy= priority= nice= ioprio_class= ioprio_level="},
    {"affinity", 0, 0, v_affinity, "allowed cpus, comma separated"},
    {"tty", 0, 0, v_tty, "fdN=tty rows= cols= / fdN=notty for fds 0-2"},
    {"stat", 1, 1, v_stat, "PATH: type= mode= uid= gid= size= rdev=maj:min (lstat)"},
    {"ls", 1, 1, v_ls, "DIR: entry names"},
    {"fds", 0, 0, v_fds, "open fds: 'N -> target'"},
    {"mounts", 0, 0, v_mounts, "/proc/self/mountinfo"},
    {"cgroup", 0, 0, v_cgroup, "/proc/self/cgroup"},
    {"read", 1, 1, v_read, "FILE: contents"},
    {"write", 2, 2, v_write, "FILE STRING: create/truncate and write; 'wrote N'"},
    {"append", 2, 2, v_append, "FILE STRING: append; 'wrote N'"},
    {"mkdir", 1, 1, v_mkdir, "PATH"},
    {"chmod", 2, 2, v_chmod, "PATH OCTAL"},
    {"chown", 3, 3, v_chown, "PATH UID GID (lchown)"},
    /* escapes and privileges */
    {"chroot-escape", 1, 2, v_chroot_escape,
     "HOSTPATH [WORKDIR=/tmp]: double chroot; 'escaped' (0) or 'contained' (3)"},
    {"open-root", 1, 1, v_open_root, "PID: list /proc/PID/root/"},
    {"ptrace", 1, 1, v_ptrace, "PID: PTRACE_ATTACH then detach; 'attached'"},
    {"mknod", 3, 4, v_mknod, "PATH MAJOR MINOR [b|c]: device node (default block)"},
    {"open-by-handle", 0, 1, v_open_by_handle, "[PATH=/]: name_to_handle_at + open_by_handle_at"},
    {"init-module", 0, 0, v_init_module, "init_module(NULL, 0, \"\")"},
    {"finit-module", 0, 0, v_finit_module, "finit_module(/dev/null fd)"},
    {"keyctl", 0, 0, v_keyctl, "add_key(user) to the process keyring"},
    {"unshare-user", 0, 0, v_unshare_user, "unshare(CLONE_NEWUSER)"},
    {"unshare", 1, 1, v_unshare, "NS: unshare(user|mnt|net|pid|uts|ipc|cgroup|time)"},
    {"clone-user", 0, 0, v_clone_user, "raw clone(CLONE_NEWUSER)"},
    {"clone", 1, 1, v_clone, "NS: raw clone with that namespace flag"},
    {"setns", 1, 1, v_setns, "NSFILE: setns(open(NSFILE), 0)"},
    {"mount", 0, 1, v_mount, "[TARGET]: mount a tmpfs (then detach it)"},
    {"personality", 1, 1, v_personality, "VALUE|linux|linux32|query: 'previous 0x..'"},
    {"setuid", 1, 1, v_setuid, "UID: setuid, then the id line"},
    {"setgid", 1, 1, v_setgid, "GID: setgid, then the id line"},
    {"setgroups", 0, -1, v_setgroups, "[GID...]: setgroups, then the id line"},
    {"sethostname", 1, 1, v_sethostname, "NAME"},
    {"tiocsti", 0, 0, v_tiocsti, "ioctl(0, TIOCSTI)"},
    {"exec", 1, -1, v_exec, "PATH [ARGS...]: execve (argv[0]=PATH)"},
    {"kill", 2, 2, v_kill, "PID SIG: SIG is a number or a name (TERM, SIGKILL, ...)"},
    /* restricted syscalls */
    {"bpf", 0, 0, v_bpf, "bpf(BPF_MAP_CREATE, array)"},
    {"perf-event-open", 0, 0, v_perf_event_open, "perf_event_open(task clock, self)"},
    {"userfaultfd", 0, 1, v_userfaultfd, "[user]: userfaultfd(O_CLOEXEC|O_NONBLOCK[|USER_MODE_ONLY])"},
    {"io-uring-setup", 0, 0, v_io_uring_setup, "io_uring_setup(4)"},
    {"syscall", 1, 7, v_syscall, "NR [ARGS...]: raw syscall; 'ret N'"},
    {"setid", 2, 2, v_setid, "PATH HOW: mode 06755 via chmod|fchmod|fchmodat|fchmodat2|mknod|open|openat|creat|openat2 (plain: 0755)"},
    {"memfd-exec", 1, 1, v_memfd_exec, "exec|plain: run this probe from a memfd; 'ran'"},
    {"tfo-send", 3, 3, v_tfo_send, "HOST PORT plain|mptcp|fastopen-connect|sendto|sendmsg: one byte (IPPROTO_MPTCP; TCP_FASTOPEN_CONNECT; MSG_FASTOPEN)"},
    /* network */
    {"socket", 2, 3, v_socket, "FAMILY TYPE [PROTO]: e.g. inet dgram, packet raw"},
    {"connect", 2, 3, v_connect, "HOST PORT [TIMEOUT=5]: TCP connect (numeric host)"},
    {"bind", 1, 2, v_bind, "PORT [HOST=127.0.0.1]: TCP bind+listen; 'bound PORT'"},
    {"udp-send", 2, 2, v_udp_send, "HOST PORT: send one datagram; 'sent N'"},
    {"abstract-connect", 1, 2, v_abstract_connect, "NAME [TYPE=stream]: connect to @NAME"},
    {"abstract-listen", 1, 1, v_abstract_listen, "NAME: 'listening', accept one, 'accepted'"},
    {"unix-connect", 1, 2, v_unix_connect, "PATH [TYPE=stream]: connect to a unix socket"},
    {"notify", 1, 1, v_notify, "MSG: send MSG to $NOTIFY_SOCKET as sd_notify does (exit 3 if unset)"},
    /* process control */
    {"sleep", 1, 1, v_sleep, "SECONDS (fractions allowed)"},
    {"exit", 1, 1, v_exit, "CODE"},
    {"sigwait", 0, -1, v_sigwait, "[SIG...]: 'waiting', then the signal name (default TERM INT)"},
    {"alloc", 1, 2, v_alloc, "MB [HOLD_SECONDS]: allocate and touch memory"},
    {"after", 2, -1, v_after, "SECONDS VERB [ARGS]: wait, then run VERB"},
    /* host network guard (escapes_net.rs) */
    {"tcp-reach", 3, 3, v_tcp_reach, "MODE HOST PORT: connect|mptcp|fo-sendto|fo-sendmsg|fo-sendmmsg|mptcp-fo-sendto, then 'read TOKEN'"},
    {"tcp-listen", 3, 4, v_tcp_listen, "PORT|unbound FILE SECONDS [mptcp]: listen, port to FILE, 'accepted' or 'no connection'"},
    {"abstract-bind", 1, 2, v_abstract_bind, "NAME|- [SECONDS]: bind+listen @NAME ('-': autobind form), 'bound', hold"},
    {"unix-bind", 1, 1, v_unix_bind, "PATH: bind+listen a filesystem socket and connect to it"},
    {"udp-connect-send", 2, 2, v_udp_connect_send, "HOST PORT: connect a UDP socket and send; 'sent N'"},
    {"udp-bind", 1, 2, v_udp_bind, "PORT [HOST=127.0.0.1]: bind a UDP socket; 'bound PORT'"},
    {"uring-net", 3, 3, v_uring_net, "socket-mptcp|connect|fo-sendmsg HOST PORT: through io_uring; 'read TOKEN'"},
};

static int v_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("usage: probe <verb> [args]\n"
           "exit: 0 ok, 1 syscall failed (errno name on stdout), 2 usage, 3 negative result\n");
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        printf("  %-18s %s\n", verbs[i].name, verbs[i].help);
    return 0;
}

/* Runs argv[1] with its arguments; "after" re-enters it once its wait is over. */
static int dispatch(int argc, char **argv)
{
    verb = argv[1];
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        const struct verb *v = &verbs[i];
        if (strcmp(v->name, argv[1]))
            continue;
        int nargs = argc - 2;
        if (nargs < v->min_args || (v->max_args >= 0 && nargs > v->max_args))
            return usage("usage: probe %s %s", v->name, v->help);
        int rc = v->fn(argc - 1, argv + 1);
        fflush(stdout);
        return rc;
    }
    return usage("unknown verb (try: probe help)");
}

/* "after SECONDS VERB [ARGS]": a watcher that attaches once the process runs (containerd's shim
 * arms its OOM eventfd after start returns) sees what VERB does only if it waits first. */
static int v_after(int argc, char **argv)
{
    double s = strtod(argv[1], NULL);
    if (s < 0)
        return usage("bad delay %s", argv[1]);
    sleep_seconds(s);
    return dispatch(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        v_help(0, NULL);
        return EXIT_USAGE;
    }
    return dispatch(argc, argv);
}
