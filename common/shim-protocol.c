/* The readiness line between berthd and a shim, written by one and read by the other with these
 * two functions only. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "berth-error.h"
#include "shim-protocol.h"

/**
 * ready_line_format() - the line a shim writes to its --ready-fd
 * @r: what to say: a pid (created), started_at (started), an error (with pid 0: creating failed)
 * @ret: the line, ending in "\n" and holding no other newline
 *
 * Return: 0, -EINVAL for a line that says nothing, -ENOMEM.
 */
int ready_line_format(const ReadyLine *r, char **ret) {
        const char *message = r->error_message ?: "";
        char *line = NULL;
        int k;

        if (r->pid < 0 || (r->pid == 0 && !r->error_name))
                return -EINVAL;
        if (r->error_name && (!*r->error_name || strpbrk(r->error_name, " \r\n")))
                return -EINVAL;

        if (r->pid == 0)
                k = asprintf(&line, SHIM_ERROR_PREFIX "%s %s\n", r->error_name, message);
        else if (r->error_name)
                k = asprintf(&line, SHIM_READY_PREFIX "%d 0 %s %s\n", (int) r->pid, r->error_name, message);
        else if (r->started_at > 0)
                k = asprintf(&line, SHIM_READY_PREFIX "%d %" PRIu64 "\n", (int) r->pid, r->started_at);
        else
                k = asprintf(&line, SHIM_READY_PREFIX "%d\n", (int) r->pid);
        if (k < 0)
                return -ENOMEM;

        /* One line: the runtime's message may hold newlines. */
        for (char *p = line; p[0] && p[1]; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';
        *ret = line;
        return 0;
}

/* "<name> <message>": splits at the first space; the name must not be empty. */
static int parse_error(char *p, ReadyLine *ret) {
        char *sp = strchr(p, ' ');

        if (!sp || sp == p)
                return -EBADMSG;
        *sp = 0;
        ret->error_name = p;
        ret->error_message = sp + 1;
        return 0;
}

static int parse_u64(const char *p, char **end, uint64_t max, uint64_t *ret) {
        unsigned long long v;

        if (*p < '0' || *p > '9')
                return -EBADMSG;
        errno = 0;
        v = strtoull(p, end, 10);
        if (errno != 0 || v > max)
                return -EBADMSG;
        *ret = v;
        return 0;
}

/**
 * ready_line_parse() - read the line a shim wrote to its --ready-fd
 * @buf: what was read, holding the line and its "\n"; modified in place
 * @size: bytes in @buf
 * @ret: the line's content, pointing into @buf
 *
 * Return: 0 or -EBADMSG.
 */
int ready_line_parse(char *buf, size_t size, ReadyLine *ret) {
        ReadyLine r = {};
        uint64_t pid;
        char *nl, *p;

        nl = memchr(buf, '\n', size);
        if (!nl || memchr(buf, 0, (size_t) (nl - buf)))
                return -EBADMSG;
        *nl = 0;

        if (strneq(buf, SHIM_ERROR_PREFIX, strlen(SHIM_ERROR_PREFIX))) {
                if (parse_error(buf + strlen(SHIM_ERROR_PREFIX), &r) < 0)
                        return -EBADMSG;
                *ret = r;
                return 0;
        }
        if (!strneq(buf, SHIM_READY_PREFIX, strlen(SHIM_READY_PREFIX)))
                return -EBADMSG;

        if (parse_u64(buf + strlen(SHIM_READY_PREFIX), &p, INT32_MAX, &pid) < 0 || pid == 0)
                return -EBADMSG;
        r.pid = (pid_t) pid;
        if (*p == ' ') {
                if (parse_u64(p + 1, &p, UINT64_MAX, &r.started_at) < 0)
                        return -EBADMSG;
                if (r.started_at == 0) {
                        if (*p != ' ' || parse_error(p + 1, &r) < 0)
                                return -EBADMSG;
                        p = nl;
                }
        }
        if (*p != 0)
                return -EBADMSG;
        *ret = r;
        return 0;
}
