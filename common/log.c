/* Logging for berthd, berth-shim and berthctl.
 *
 * log_setup() picks the target once: when stderr is the journal stream systemd gave us (the
 * "dev:ino" in $JOURNAL_STREAM matches stderr, as systemd itself checks), messages go to the journal
 * with structured fields (CODE_*, ERRNO=, CONTAINER_ID=); otherwise they are written to stderr as
 * "ident: [id: ]message". $BERTH_LOG_LEVEL (a syslog level name or number) sets the initial maximum
 * level, which is LOG_INFO by default.
 *
 * log_internal() never changes errno: it saves it, sets it to the given error so that "%m" in the
 * format refers to that error, and restores it on return. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include "journal-send.h"
#include "log.h"

#define LOG_LINE_MAX 4096

static int log_max_level = LOG_INFO;
static bool log_to_journal = false;
static const char *log_ident = NULL;

static bool stderr_is_journal(void) {
        const char *e;
        uint64_t dev, ino;
        struct stat st;
        int n = 0;

        e = getenv("JOURNAL_STREAM");
        if (!e)
                return false;
        if (sscanf(e, "%" SCNu64 ":%" SCNu64 "%n", &dev, &ino, &n) != 2 || e[n] != '\0')
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (uint64_t) st.st_dev == dev && (uint64_t) st.st_ino == ino;
}

static int log_level_from_string(const char *s) {
        static const char *const names[] = {
                [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit", [LOG_ERR] = "err",
                [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info",
                [LOG_DEBUG] = "debug",
        };
        char *end;
        long l;

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(s, names[i]))
                        return (int) i;
        if (streq(s, "error"))
                return LOG_ERR;

        errno = 0;
        l = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || l < LOG_EMERG || l > LOG_DEBUG)
                return -EINVAL;
        return (int) l;
}

/**
 * log_setup() - choose the log target and the identifier
 * @ident: name put in front of stderr lines and in SYSLOG_IDENTIFIER= (NULL: the program name)
 *
 * Logs to the journal when stderr is connected to it, else to stderr. Reads $BERTH_LOG_LEVEL.
 */
void log_setup(const char *ident) {
        const char *e;

        log_ident = ident;
        log_to_journal = stderr_is_journal();

        e = getenv("BERTH_LOG_LEVEL");
        if (e) {
                int l = log_level_from_string(e);
                if (l >= 0)
                        log_max_level = l;
        }
}

/**
 * log_set_max_level() - set the most verbose level that is still logged
 * @level: a syslog level, LOG_EMERG..LOG_DEBUG
 */
void log_set_max_level(int level) {
        log_max_level = MAX(LOG_EMERG, MIN(level, LOG_DEBUG));
}

/**
 * log_get_max_level() - the current maximum log level
 *
 * Return: a syslog level.
 */
int log_get_max_level(void) {
        return log_max_level;
}

static void write_stderr(const char *container_id, const char *message) {
        const char *ident = log_ident ?: program_invocation_short_name;
        struct iovec iov[6];
        size_t n = 0;

        iov[n++] = (struct iovec) { .iov_base = (char *) ident, .iov_len = strlen(ident) };
        iov[n++] = (struct iovec) { .iov_base = (char *) ": ", .iov_len = 2 };
        if (container_id) {
                iov[n++] = (struct iovec) {
                        .iov_base = (char *) container_id,
                        .iov_len = strlen(container_id),
                };
                iov[n++] = (struct iovec) { .iov_base = (char *) ": ", .iov_len = 2 };
        }
        iov[n++] = (struct iovec) { .iov_base = (char *) message, .iov_len = strlen(message) };
        iov[n++] = (struct iovec) { .iov_base = (char *) "\n", .iov_len = 1 };

        /* One writev() so that lines from several processes sharing stderr don't interleave. */
        (void) writev(STDERR_FILENO, iov, n);
}

static void write_journal(int level, int error, const char *container_id, const char *file, int line,
                          const char *func, const char *message) {
        char f_message[LOG_LINE_MAX + 16], f_priority[32], f_file[512], f_line[32], f_func[256],
                f_ident[256], f_id[256], f_errno[32];
        struct iovec iov[8];
        size_t n = 0;

#define ADD_FIELD(buf, ...)                                                             \
        do {                                                                            \
                int _k = snprintf(buf, sizeof(buf), __VA_ARGS__);                       \
                if (_k > 0)                                                             \
                        iov[n++] = (struct iovec) {                                     \
                                .iov_base = buf,                                        \
                                .iov_len = MIN((size_t) _k, sizeof(buf) - 1),           \
                        };                                                              \
        } while (0)

        ADD_FIELD(f_message, "MESSAGE=%s", message);
        ADD_FIELD(f_priority, "PRIORITY=%i", level);
        ADD_FIELD(f_file, "CODE_FILE=%s", file ?: "");
        ADD_FIELD(f_line, "CODE_LINE=%i", line);
        ADD_FIELD(f_func, "CODE_FUNC=%s", func ?: "");
        ADD_FIELD(f_ident, "SYSLOG_IDENTIFIER=%s", log_ident ?: program_invocation_short_name);
        if (container_id)
                ADD_FIELD(f_id, "CONTAINER_ID=%s", container_id);
        if (error != 0)
                ADD_FIELD(f_errno, "ERRNO=%i", error);
#undef ADD_FIELD

        if (journal_sendv(iov, n) < 0)
                write_stderr(container_id, message);
}

/**
 * log_internal() - log one message; use the log_*() macros instead
 * @level: syslog level
 * @error: errno value the message is about (either sign), or 0
 * @container_id: the container the message is about, or NULL
 * @file: source file
 * @line: source line
 * @func: function name
 * @format: printf format; "%m" is the text for @error
 *
 * Messages above the maximum level are dropped. errno is preserved.
 *
 * Return: -abs(@error), so that "return log_error_errno(r, ...)" works.
 */
int log_internal(int level, int error, const char *container_id, const char *file, int line,
                 const char *func, const char *format, ...) {
        char message[LOG_LINE_MAX];
        int saved_errno = errno;
        va_list ap;

        error = error < 0 ? -error : error;

        if (LOG_PRI(level) > log_max_level)
                goto finish;

        errno = error;
        va_start(ap, format);
        (void) vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);

        if (log_to_journal)
                write_journal(LOG_PRI(level), error, container_id, file, line, func, message);
        else
                write_stderr(container_id, message);

finish:
        errno = saved_errno;
        return -error;
}
