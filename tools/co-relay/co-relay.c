/*
 * co-relay: runs a job's command and hands its stdout and stderr on as one stream, in the
 * order the command wrote them, each piece tagged with the stream it was written to.
 *
 * Why it exists. The Docker engine reads a container's stdout and stderr through two pipes,
 * copied by two goroutines in the shim and two more in dockerd, so which of two writes made
 * microseconds apart reaches a reader first is down to scheduling (moby/moby#31706): on this
 * project's 2-core machine the example `failing` job's `error:` line, printed second, came
 * out first, second or fourth from one run to the next (25 runs of 30 out of order, the
 * engine's own timestamps no better). No reader outside the container can put the lines
 * back in order; the order only exists at the moment of each write. So the container's
 * command runs under this relay (mounted read-only, the container's entrypoint), which
 * learns that order from the kernel itself:
 *
 * - the command's fd 1 and fd 2 are two pipes in packet mode (O_DIRECT): every write is a
 *   packet of its own (a page at most; a larger write is several full-page packets), read
 *   back one at a time;
 * - the read end of each pipe is set to raise a real-time signal (F_SETSIG) on every write,
 *   from inside the writer's write(2) call, naming the pipe. Real-time signals queue in the
 *   order they are raised, so the queue lists the writes of the command in the order it
 *   made them, across both pipes;
 * - the relay takes the signals in order (signalfd) and, for each, the next packet of the
 *   pipe it names, and writes it to its own stdout as records: `o` + text + newline for
 *   text that ended a stdout line, `O` + text + newline for text that did not (the line goes
 *   on in the next record), `e` and `E` alike for stderr. Records never hold a newline of
 *   the job's, so the engine's line-based log keeps them whole, and the launcher turns them
 *   back into the two streams (chalicelib/launch/docker_relay.py).
 *
 * Exact for every write through the descriptors the command inherited (what `>&2`, echo,
 * printf and every program's stdout and stderr use). What it cannot promise: a file opened
 * anew on /dev/stdout or /dev/stderr writes without packet mode, so two such writes that
 * reach the pipe before the relay reads the first are read together (still in order within
 * their stream); and a pipe that fills (the relay held up by a reader far behind) raises a
 * second signal for the write that waited, which can put that stream one write early until
 * the pipe runs empty again. The pipes are enlarged to 1 MiB (256 packets) where the kernel
 * allows it, so that takes a flood. If the signal queue ever overflows the kernel sends
 * SIGIO instead and the relay reads both pipes out, stdout first, and carries on.
 *
 * Everything else is the command's as without the relay: its environment, stdin (the held
 * containers' gate reads its release there), its exit code (128 + the signal when a signal
 * ended it), and the signals a stop sends (TERM, INT, HUP, QUIT, USR1, USR2 are passed on to
 * it). It reaps every child, as an init does. When the command cannot be executed the relay
 * says so on its own stderr, `co-relay: exec NAME failed: REASON`, and exits 127 (not found)
 * or 126. Static (no loader, no libc of the image's): `make relay` builds .build/co-relay.
 *
 *   usage: co-relay [--] COMMAND [ARGUMENT...]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

enum { STDOUT_STREAM, STDERR_STREAM, STREAMS };
enum { READ_END, WRITE_END };

static const int PASSED_ON[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
static const int PIPE_SIZES[] = {1 << 20, 1 << 18}; /* tried in turn; the default otherwise */
static const char TAGS[STREAMS][2] = {{'o', 'O'}, {'e', 'E'}}; /* [stream][line ended?0:1] */

static int pipes[STREAMS][2];
static long page_size;
static char *packet;   /* one packet, read */
static char *records;  /* records waiting to be written to stdout */
static size_t records_used, records_size;

static void write_all(int fd, const char *data, size_t size) {
  while (size > 0) {
    ssize_t written = write(fd, data, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      _exit(125); /* nobody reads the relay any more: nothing left to do */
    }
    data += written;
    size -= (size_t)written;
  }
}

static void flush_records(void) {
  write_all(STDOUT_FILENO, records, records_used);
  records_used = 0;
}

static void add_record(char tag, const char *text, size_t size) {
  if (records_used + size + 2 > records_size) flush_records();
  records[records_used++] = tag;
  memcpy(records + records_used, text, size);
  records_used += size;
  records[records_used++] = '\n';
}

/* A packet's text as records: one per line it ends, one for the unended rest. */
static void add_records(int stream, const char *text, size_t size) {
  const char *end = text + size;
  while (text < end) {
    const char *newline = memchr(text, '\n', (size_t)(end - text));
    size_t length = newline ? (size_t)(newline - text) : (size_t)(end - text);
    add_record(TAGS[stream][newline ? 0 : 1], text, length);
    text += length + (newline ? 1 : 0);
  }
}

/* The next write of a stream: its packet, and those after it while they are full pages
 * (the rest of a write larger than a page). False when the pipe held nothing. */
static int relay_write(int stream) {
  int relayed = 0;
  for (;;) {
    ssize_t size = read(pipes[stream][READ_END], packet, (size_t)page_size);
    if (size < 0 && errno == EINTR) continue;
    if (size <= 0) return relayed;
    relayed = 1;
    add_records(stream, packet, (size_t)size);
    if (size < page_size) return 1;
  }
}

static void relay_everything(void) {
  for (int stream = 0; stream < STREAMS; stream++)
    while (relay_write(stream)) {}
}

static int stream_of(const struct signalfd_siginfo *info) {
  return info->ssi_fd == (int32_t)pipes[STDERR_STREAM][READ_END] ? STDERR_STREAM : STDOUT_STREAM;
}

static int open_pipes(void) {
  for (int stream = 0; stream < STREAMS; stream++) {
    if (pipe2(pipes[stream], O_DIRECT | O_CLOEXEC) != 0) return -1;
    int reader = pipes[stream][READ_END];
    for (size_t i = 0; i < sizeof PIPE_SIZES / sizeof *PIPE_SIZES; i++)
      if (fcntl(reader, F_SETPIPE_SZ, PIPE_SIZES[i]) >= 0) break;
    if (fcntl(reader, F_SETOWN, getpid()) != 0 || fcntl(reader, F_SETSIG, SIGRTMIN) != 0 ||
        fcntl(reader, F_SETFL, O_NONBLOCK | O_ASYNC) != 0)
      return -1;
  }
  return 0;
}

static void run_command(char **command, const sigset_t *mask_before, int said_fd) {
  sigprocmask(SIG_SETMASK, mask_before, NULL);
  if (dup2(pipes[STDOUT_STREAM][WRITE_END], STDOUT_FILENO) < 0 ||
      dup2(pipes[STDERR_STREAM][WRITE_END], STDERR_FILENO) < 0)
    _exit(125);
  execvp(command[0], command);
  int failure = errno;
  dprintf(said_fd, "co-relay: exec %s failed: %s\n", command[0], strerror(failure));
  _exit(failure == ENOENT ? 127 : 126);
}

static int exit_code_of(int status) {
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 125;
}

int main(int argc, char **argv) {
  int first = (argc > 1 && strcmp(argv[1], "--") == 0) ? 2 : 1;
  if (first >= argc) {
    fprintf(stderr, "usage: co-relay [--] COMMAND [ARGUMENT...]\n");
    return 125;
  }
  page_size = sysconf(_SC_PAGESIZE);
  records_size = (size_t)page_size * 16;
  packet = malloc((size_t)page_size);
  records = malloc(records_size);
  if (packet == NULL || records == NULL) return 125;

  sigset_t mask, mask_before;
  sigemptyset(&mask);
  sigaddset(&mask, SIGRTMIN);
  sigaddset(&mask, SIGIO);
  sigaddset(&mask, SIGCHLD);
  for (size_t i = 0; i < sizeof PASSED_ON / sizeof *PASSED_ON; i++) sigaddset(&mask, PASSED_ON[i]);
  sigprocmask(SIG_BLOCK, &mask, &mask_before); /* before the pipes: no write goes unseen */
  int signals = signalfd(-1, &mask, SFD_CLOEXEC);
  /* Where the relay's own words go: its stderr, kept for the child's exec failure. */
  int said_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
  if (signals < 0 || said_fd < 0 || open_pipes() != 0) {
    perror("co-relay: cannot set up the pipes");
    return 125;
  }

  pid_t command = fork();
  if (command < 0) {
    perror("co-relay: fork");
    return 125;
  }
  if (command == 0) run_command(argv + first, &mask_before, said_fd);
  close(pipes[STDOUT_STREAM][WRITE_END]);
  close(pipes[STDERR_STREAM][WRITE_END]);

  struct signalfd_siginfo infos[64];
  int status = 0, ended = 0;
  while (!ended) {
    ssize_t size = read(signals, infos, sizeof infos);
    if (size < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (size_t i = 0; i < (size_t)size / sizeof *infos; i++) {
      const struct signalfd_siginfo *info = &infos[i];
      int number = (int)info->ssi_signo;
      if (number == SIGRTMIN) {
        relay_write(stream_of(info));
      } else if (number == SIGIO) { /* the queue overflowed: order is lost, not text */
        relay_everything();
      } else if (number == SIGCHLD) {
        pid_t child;
        int child_status;
        while ((child = waitpid(-1, &child_status, WNOHANG)) > 0)
          if (child == command) {
            status = child_status;
            ended = 1;
          }
      } else {
        kill(command, number);
      }
    }
    flush_records();
  }

  /* What the command wrote before it ended, in the order of the signals still queued. */
  fcntl(signals, F_SETFL, O_NONBLOCK);
  ssize_t size;
  while ((size = read(signals, infos, sizeof infos)) > 0)
    for (size_t i = 0; i < (size_t)size / sizeof *infos; i++)
      if ((int)infos[i].ssi_signo == SIGRTMIN) relay_write(stream_of(&infos[i]));
  relay_everything();
  flush_records();
  return exit_code_of(status);
}
