/* The journal's native protocol: one datagram per entry on /run/systemd/journal/socket, each
 * field "NAME=value\n", or, when the value holds a newline, "NAME\n" + its size as a little-endian
 * 64-bit number + the value + "\n". This is all berth needs of sd-journal, and doing it here keeps
 * libsystemd (and the libraries it loads) out of berth-shim, which runs once per container.
 *
 * Entries larger than a datagram fail with EMSGSIZE; berth's are lines of at most a few KiB. */

#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "journal-send.h"
#include "macro.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static int journal_fd = -EBADF;

static int journal_socket(void) {
        if (journal_fd < 0)
                journal_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        return journal_fd < 0 ? -errno : journal_fd;
}

/**
 * journal_sendv() - send one journal entry
 * @fields: the fields, each "NAME=value" (the value may hold any bytes, newlines included)
 * @n: how many, at most JOURNAL_FIELDS_MAX
 *
 * Return: 0 or -errno (-E2BIG for too many fields, -EINVAL for a field without '=').
 */
int journal_sendv(const struct iovec *fields, size_t n) {
        static const struct sockaddr_un sa = {
                .sun_family = AF_UNIX,
                .sun_path = JOURNAL_SOCKET,
        };
        struct iovec iov[JOURNAL_FIELDS_MAX * 5];
        uint64_t sizes[JOURNAL_FIELDS_MAX];
        struct msghdr mh = {
                .msg_name = (void *) &sa,
                .msg_namelen = offsetof(struct sockaddr_un, sun_path) + sizeof(JOURNAL_SOCKET),
                .msg_iov = iov,
        };
        size_t k = 0;
        int fd;

        if (n > JOURNAL_FIELDS_MAX)
                return -E2BIG;

        for (size_t i = 0; i < n; i++) {
                const char *field = fields[i].iov_base;
                const char *eq = memchr(field, '=', fields[i].iov_len);
                size_t name_len, value_len;

                if (!eq || eq == field)
                        return -EINVAL;
                name_len = (size_t) (eq - field);
                value_len = fields[i].iov_len - name_len - 1;

                if (!memchr(eq + 1, '\n', value_len)) {
                        iov[k++] = fields[i];
                        iov[k++] = (struct iovec) { .iov_base = (char *) "\n", .iov_len = 1 };
                        continue;
                }

                sizes[i] = htole64((uint64_t) value_len);
                iov[k++] = (struct iovec) { .iov_base = (char *) field, .iov_len = name_len };
                iov[k++] = (struct iovec) { .iov_base = (char *) "\n", .iov_len = 1 };
                iov[k++] = (struct iovec) { .iov_base = &sizes[i], .iov_len = sizeof(sizes[i]) };
                iov[k++] = (struct iovec) { .iov_base = (char *) eq + 1, .iov_len = value_len };
                iov[k++] = (struct iovec) { .iov_base = (char *) "\n", .iov_len = 1 };
        }
        mh.msg_iovlen = k;

        fd = journal_socket();
        if (fd < 0)
                return fd;
        if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
                return -errno;
        return 0;
}
