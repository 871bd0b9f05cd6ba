/* Fuzzes berthd's reading of CreateContainer's a{sv} options: create_options_read() and
 * create_options_check() of monitor/create-options.c (and the table reader, bus-options.c).
 *
 * The input is the body of a CreateContainer call (signature "ssa{sv}"), after one byte whose low
 * bit picks the byte order. It goes through the real path: the header is added here, the message is
 * written as raw bytes into one end of a socketpair, and berthd's sd-bus on the other end
 * authenticates, receives and validates it and dispatches it by a vtable to a method that reads it
 * as method_create_container() does, up to create_options_check(). Invariants:
 * - an option set read without error holds no fd (the message carries none) and labels in pairs;
 * - an error the caller caused is org.berth.Error.InvalidArgument or NotSupported, with a message;
 * - nothing leaks on any path (LeakSanitizer, per input under libFuzzer).
 * create_options_check() must stay free of side effects (no files made) for this to be safe. */

#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"

#include "berth-error.h"
#include "create-options.h"
#include "path-util.h"

#define MANAGER_OBJECT_PATH "/org/berth/Monitor1"
#define MANAGER_INTERFACE "org.berth.Monitor1"

#define SIGNATURE "ssa{sv}"

static void put_u32(uint8_t *p, uint32_t v, bool big) {
        for (size_t i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (big ? 24 - 8 * i : 8 * i));
}

/* A header field: code, signature, string value, padded to 8. Returns the new offset. */
static size_t put_field(uint8_t *h, size_t pos, uint8_t code, char type, const char *value, bool big) {
        size_t len = strlen(value);

        pos = (pos + 7) & ~(size_t) 7;
        h[pos++] = code;
        h[pos++] = 1;
        h[pos++] = (uint8_t) type;
        h[pos++] = 0;
        if (type == 'g')
                h[pos++] = (uint8_t) len;
        else {
                pos = (pos + 3) & ~(size_t) 3;
                put_u32(h + pos, (uint32_t) len, big);
                pos += 4;
        }
        memcpy(h + pos, value, len + 1);
        return pos + len + 1;
}

/* The header of a CreateContainer call with a body of body_size bytes; returns its padded size. */
static size_t make_header(uint8_t h[static 256], uint32_t body_size, bool big) {
        size_t end;

        memset(h, 0, 256);
        h[0] = big ? 'B' : 'l';
        h[1] = 1;               /* method call */
        h[3] = 1;               /* protocol version */
        put_u32(h + 4, body_size, big);
        put_u32(h + 8, 1, big);
        end = put_field(h, 16, 1, 'o', MANAGER_OBJECT_PATH, big);
        end = put_field(h, end, 2, 's', MANAGER_INTERFACE, big);
        end = put_field(h, end, 3, 's', "CreateContainer", big);
        end = put_field(h, end, 8, 'g', SIGNATURE, big);
        put_u32(h + 12, (uint32_t) (end - 16), big);
        return (end + 7) & ~(size_t) 7;
}

static int method_read_options(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(create_options_done) CreateOptions o = CREATE_OPTIONS_NULL;
        LogDriver driver = LOG_DRIVER_FILE;
        const char *id, *bundle;
        int r;

        r = sd_bus_message_read(message, "ss", &id, &bundle);
        if (r < 0)
                return r;
        if (!container_id_is_valid(id))
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ID, "Invalid container id.");
        r = create_options_read(message, &o, error);
        if (r < 0) {
                fuzz_check(!sd_bus_error_is_set(error) ||
                           (sd_bus_error_has_name(error, BERTH_ERROR_INVALID_ARGUMENT) && error->message));
                return r;
        }
        for (size_t i = 0; i < 3; i++)
                fuzz_check(o.stdio_fds[i] == -EBADF);
        fuzz_check(strv_length(o.labels) % 2 == 0);

        r = create_options_check(&o, -EBADF, &driver, error);
        if (r < 0) {
                fuzz_check(sd_bus_error_has_name(error, BERTH_ERROR_INVALID_ARGUMENT) ||
                           sd_bus_error_has_name(error, BERTH_ERROR_NOT_SUPPORTED));
                fuzz_check(error->message);
                return r;
        }
        fuzz_check(driver >= 0 && driver < _LOG_DRIVER_MAX);
        return sd_bus_reply_method_return(message, "o", MANAGER_OBJECT_PATH);
}

static const sd_bus_vtable fuzz_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("CreateContainer", SIGNATURE, "o", method_read_options, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

/* berthd's side: an sd-bus server on fd, with the vtable above. */
static sd_bus *server_new(int fd) {
        sd_bus *bus = NULL;
        sd_id128_t id = SD_ID128_MAKE(0b, 3e, 47, 11, 42, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 01);

        fuzz_check(sd_bus_new(&bus) >= 0);
        fuzz_check(sd_bus_set_fd(bus, fd, fd) >= 0);
        fuzz_check(sd_bus_set_server(bus, 1, id) >= 0);
        fuzz_check(sd_bus_add_object_vtable(bus, NULL, MANAGER_OBJECT_PATH, MANAGER_INTERFACE, fuzz_vtable,
                                            NULL) >= 0);
        fuzz_check(sd_bus_start(bus) >= 0);
        return bus;
}

static void write_all(int fd, const void *p, size_t size) {
        while (size > 0) {
                ssize_t n = write(fd, p, size);

                fuzz_check(n > 0);
                p = (const uint8_t *) p + n;
                size -= (size_t) n;
        }
}

/* The client's side of the authentication: EXTERNAL with our uid, which the server checks. */
static size_t make_auth(char buf[static 64]) {
        char uid[16];
        size_t n;

        (void) snprintf(uid, sizeof(uid), "%u", (unsigned) getuid());
        buf[0] = 0;
        n = 1 + (size_t) snprintf(buf + 1, 63, "AUTH EXTERNAL ");
        for (const char *c = uid; *c; c++)
                n += (size_t) snprintf(buf + n, 64 - n, "%02x", (unsigned) *c);
        n += (size_t) snprintf(buf + n, 64 - n, "\r\nBEGIN\r\n");
        return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        uint8_t header[256];
        size_t header_size, auth_size;
        char auth[64];
        int fds[2];

        /* The socket buffer takes a whole message and the replies: nothing blocks. */
        if (size < 1 || size > 64 * 1024)
                return 0;
        header_size = make_header(header, (uint32_t) (size - 1), data[0] & 1);

        fuzz_check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) >= 0);
        auth_size = make_auth(auth);
        write_all(fds[1], auth, auth_size);
        write_all(fds[1], header, header_size);
        write_all(fds[1], data + 1, size - 1);
        fuzz_check(shutdown(fds[1], SHUT_WR) >= 0);

        bus = server_new(fds[0]);
        /* Until sd-bus has handled the message and sees the end of the stream. */
        while (sd_bus_process(bus, NULL) > 0)
                ;
        safe_close(fds[1]);
        return 0;
}
