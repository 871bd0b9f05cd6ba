/* berthctl's commands: what main() (berthctl.c) dispatches to, by the file each lives in.
 *
 * Every command is called with argv[0] set to "berthctl COMMAND" (what getopt's messages show) and
 * optind reset; it parses its own options, connects to the bus only once its arguments are good,
 * and returns the exit status or a negative errno after printing its error (see ctl-util.h). */
#pragma once

/* ctl-create.c: making containers. */
int ctl_cmd_create(int argc, char *argv[]);
int ctl_cmd_run(int argc, char *argv[]);

/* ctl-control.c: changing and waiting for containers by id. */
int ctl_cmd_start(int argc, char *argv[]);
int ctl_cmd_kill(int argc, char *argv[]);
int ctl_cmd_rm(int argc, char *argv[]);
int ctl_cmd_pause(int argc, char *argv[]);
int ctl_cmd_resume(int argc, char *argv[]);
int ctl_cmd_wait(int argc, char *argv[]);

/* ctl-exec.c: more processes in a running container. */
int ctl_cmd_exec(int argc, char *argv[]);

/* ctl-list.c: showing containers. */
int ctl_cmd_ps(int argc, char *argv[]);
int ctl_cmd_inspect(int argc, char *argv[]);

/* ctl-logs.c: a container's output. */
int ctl_cmd_logs(int argc, char *argv[]);

/* ctl-version.c */
int ctl_cmd_version(int argc, char *argv[]);
