/*
 * What the examples that run as several processes share: starting this
 * program again in another role (with posix_spawn: nng cannot be used
 * across a bare fork), reading the address a server prints with a
 * deadline, waiting for a process to end (and killing it past a
 * deadline), a coordinator that runs a server around its clients, and
 * the server's side of it all. db_serve.c, sqlite_serve.c and
 * callback_serve.c use it.
 *
 * A server is this program started as "PROGRAM server": it prints the
 * address it took as its first line (print_address()), and serves until
 * its stdin closes (wait_stdin_closed()).
 */
#ifndef SYN_EXAMPLE_PROCESS_H
#define SYN_EXAMPLE_PROCESS_H

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "example.h"

/* How long a server may take to start (to print its address). It does
 * at once; the margin is for a loaded machine or a sanitized build. */
#define START_MS 3000

extern char **environ;

/* Starts this program as args[1..] ("server", "client URL N", ...),
 * with stdin and stdout from fds[0] and fds[1] when not -1. Returns its
 * pid, or -1. */
static inline pid_t
spawn(char *const args[], const int fds[2])
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	for (int i = 0; i < 2; i++) {
		if (fds[i] >= 0) {
			posix_spawn_file_actions_adddup2(&fa, fds[i], i);
		}
	}
	pid_t pid;
	int   rc = posix_spawnp(&pid, args[0], &fa, NULL, args, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		fprintf(stderr, "spawn %s: %s\n", args[1], strerror(rc));
		return -1;
	}
	return pid;
}

/* Reads a line from fd into buf (size bytes, without its newline),
 * waiting until deadline (now_ms()) at most. Returns 0 or -1. */
static inline int
read_line(int fd, char *buf, size_t size, double deadline)
{
	for (size_t n = 0; n + 1 < size; n++) {
		struct pollfd pfd  = { .fd = fd, .events = POLLIN };
		int           left = (int) (deadline - now_ms());
		if (left <= 0 || poll(&pfd, 1, left) != 1 ||
		    read(fd, &buf[n], 1) != 1) {
			return -1;
		}
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return 0;
		}
	}
	return -1;
}

/* Waits until deadline at most for pid to exit, and kills it past that.
 * Returns 0 when it exited with status 0, else -1. */
static inline int
wait_exit(pid_t pid, const char *who, double deadline)
{
	int   status;
	pid_t got;
	while ((got = waitpid(pid, &status, WNOHANG)) == 0 &&
	    now_ms() < deadline) {
		usleep(5000);
	}
	if (got == 0) {
		fprintf(stderr, "%s: still running: killed\n", who);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return -1;
	}
	if (got < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "%s: failed\n", who);
		return -1;
	}
	return 0;
}

/* Prints the address a server took as the first line of its stdout,
 * where start_server() reads it, and flushes it: a pipe is not line
 * buffered. */
static inline void
print_address(const char *url)
{
	printf("%s\n", url);
	fflush(stdout);
}

/* Waits until this process's stdin closes: a server's, when its client
 * or coordinator closes it (or ends). */
static inline void
wait_stdin_closed(void)
{
	char buf[64];
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0) {
		continue;
	}
}

/* [spawn] */
/* Starts the server, its stdin and stdout piped here, and reads the
 * address it took from its first line. Closing *to_server stops it.
 * Returns its pid, or -1 (then nothing is left running). */
static pid_t
start_server(const char *self, int *to_server, char *url, size_t size)
{
	int in[2], out[2]; /* close-on-exec: the children get none of them */
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
		perror("pipe2");
		return -1;
	}
	char *const args[] = { (char *) self, "server", NULL };
	pid_t       pid    = spawn(args, (int[2]) { in[0], out[1] });
	close(in[0]);
	close(out[1]);
	if (pid > 0 && read_line(out[0], url, size, now_ms() + START_MS) != 0) {
		fprintf(stderr, "the server did not start\n");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(out[0]); /* the server writes nothing more there */
	if (pid < 0) {
		close(in[1]);
	}
	*to_server = in[1];
	return pid;
}
/* [spawn] */

/* What a coordinator runs while the server serves at url: the client
 * processes, started as self's other roles. Returns how many of them did
 * not end well. */
typedef int (*run_clients_fn)(const char *self, const char *url);

/* The coordinator: starts the server, runs the clients, then stops the
 * server by closing its stdin and waits stop_ms at most for its exit.
 * Prints the server's address and the outcome; returns 0 when all of
 * them ended well, else 1. */
static inline int
coordinate(const char *self, run_clients_fn run_clients, int stop_ms)
{
	char  url[300]; /* tcp://... or ipc:// and a path under $TMPDIR */
	int   to_server;
	pid_t server_pid = start_server(self, &to_server, url, sizeof(url));
	if (server_pid < 0) {
		return 1;
	}
	printf("server at %s\n", url);
	fflush(stdout); /* before the clients write to the same stdout */
	int bad = run_clients(self, url);
	close(to_server); /* its stdin closes: it stops serving, and exits */
	bad += wait_exit(server_pid, "server", now_ms() + stop_ms) != 0;
	printf("%s\n", bad == 0 ? "all well" : "failed");
	return bad == 0 ? 0 : 1;
}

#endif /* SYN_EXAMPLE_PROCESS_H */
