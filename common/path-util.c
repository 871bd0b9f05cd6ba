/* Validation of what clients name (container ids, bundles) and directory helpers.
 *
 * Container ids become file names in the state directory, so container_id_is_valid() is the one
 * gate that keeps "..", "/" and friends out of paths. rm_rf_at() removes a container's state and log
 * directories; it never follows symlinks and never descends into another file system, so a
 * bind mount left behind below a state directory is not emptied. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic-file.h"
#include "caller-path.h"
#include "macro.h"
#include "path-util.h"

#define BUNDLE_CONFIG "config.json"
#define BUNDLE_CONFIG_MAX (4U * 1024U * 1024U)
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static bool char_is_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/**
 * container_id_is_valid() - check a container id
 * @id: the id
 *
 * Return: true if @id matches ^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$.
 */
bool container_id_is_valid(const char *id) {
        size_t n;

        if (!id || !char_is_alnum(id[0]))
                return false;

        for (n = 1; id[n]; n++) {
                if (n >= CONTAINER_ID_MAX)
                        return false;
                if (!char_is_alnum(id[n]) && !IN_SET(id[n], '_', '.', '-'))
                        return false;
        }
        return true;
}

/**
 * path_is_absolute() - whether a path starts with '/'
 * @p: the path (may be NULL)
 *
 * Return: true for absolute paths.
 */
bool path_is_absolute(const char *p) {
        return p && p[0] == '/';
}

/**
 * path_is_normalized() - whether a path is in canonical form
 * @p: the path (may be NULL)
 *
 * A normalized path is non-empty, shorter than PATH_MAX, has no "." or ".." component and no
 * repeated slashes. A single trailing slash is accepted.
 *
 * Return: true if normalized.
 */
bool path_is_normalized(const char *p) {
        const char *c;

        if (isempty(p) || strnlen(p, PATH_MAX) >= PATH_MAX)
                return false;

        c = p;
        for (;;) {
                size_t n = strcspn(c, "/");

                if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                c += n;
                if (*c == '\0')
                        return true;
                c++;                            /* skip the '/' */
                if (*c == '\0')
                        return true;            /* trailing slash */
                if (*c == '/')
                        return false;
        }
}

/* Whether the n bytes at p are all JSON whitespace; p need not be NUL-terminated. */
static bool only_whitespace(const char *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!strchr(" \t\r\n", p[i]) || p[i] == '\0')
                        return false;
        return true;
}

/**
 * json_parse_object() - parse text that must be exactly one JSON object (whitespace around it is fine)
 * @text: the text
 * @size: its length
 * @ret: the object
 * @ret_reason: on -EBADMSG, a message saying what is wrong (free it); may be NULL
 *
 * Return: 0, -EBADMSG if it is not one JSON object, -EFBIG if @size exceeds json-c's limit, -ENOMEM.
 */
int json_parse_object(const char *text, size_t size, json_object **ret, char **ret_reason) {
        _cleanup_json_ json_object *obj = NULL;
        struct json_tokener *tok;
        enum json_tokener_error jerr;
        size_t offset;
        char *reason;

        if (size > INT_MAX)
                return -EFBIG;

        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        obj = json_tokener_parse_ex(tok, text, (int) size);
        jerr = json_tokener_get_error(tok);
        offset = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);

        if (jerr == json_tokener_continue)
                reason = strdup("unexpected end of data");
        else if (jerr != json_tokener_success)
                reason = strdup(json_tokener_error_desc(jerr));
        else if (!only_whitespace(text + offset, size - offset))
                reason = strdup("trailing data after the JSON value");
        else if (!json_object_is_type(obj, json_type_object))
                reason = strdup("not a JSON object");
        else {
                *ret = TAKE_PTR(obj);
                return 0;
        }

        if (!reason)
                return -ENOMEM;
        if (ret_reason)
                *ret_reason = reason;
        else
                free(reason);
        return -EBADMSG;
}

/**
 * bundle_validate() - check an OCI bundle directory
 * @bundle: absolute path of the bundle
 * @ret_config: the parsed config.json (may be NULL)
 * @ret_reason: on -EBADMSG, a description of the JSON problem (may be NULL)
 *
 * Return: 0, -EINVAL (not absolute), -ENOENT (missing bundle or config.json), -ENOTDIR, -EFBIG
 * (config.json larger than 4 MiB), -EBADFD (config.json not a regular file), -EBADMSG (config.json
 * not a JSON object) or another errno.
 */
int bundle_validate(const char *bundle, json_object **ret_config, char **ret_reason) {
        _cleanup_close_ int dirfd = -EBADF;
        _cleanup_free_ char *text = NULL;
        _cleanup_json_ json_object *config = NULL;
        struct stat st;
        size_t size;
        int r;

        if (!path_is_absolute(bundle))
                return -EINVAL;

        if (stat(bundle, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;

        dirfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return -errno;

        /* A caller's file: a FIFO or a device there must not block or touch anything. */
        r = read_regular_file_at(dirfd, BUNDLE_CONFIG, BUNDLE_CONFIG_MAX, &text, &size);
        if (r < 0)
                return r;

        r = json_parse_object(text, size, &config, ret_reason);
        if (r < 0)
                return r;

        if (ret_config)
                *ret_config = TAKE_PTR(config);
        return 0;
}

/* Empties the directory open as fd, which lives on device dev. Returns the first error. */
static int rm_rf_children(int fd, dev_t dev) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int ret = 0;

        d = fdopendir(fd);
        if (!d) {
                ret = -errno;
                safe_close(fd);
                return ret;
        }

        while ((errno = 0, de = readdir(d))) {
                struct stat st;
                int r;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;

                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno != ENOENT && ret == 0)
                                ret = -errno;
                        continue;
                }

                if (S_ISDIR(st.st_mode)) {
                        int subfd;

                        /* Another file system is mounted here: leave it alone. */
                        if (st.st_dev != dev) {
                                if (ret == 0)
                                        ret = -EXDEV;
                                continue;
                        }

                        subfd = openat(dirfd(d), de->d_name,
                                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
                        if (subfd < 0 && errno == EPERM)
                                subfd = openat(dirfd(d), de->d_name,
                                               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (subfd < 0) {
                                if (errno != ENOENT && ret == 0)
                                        ret = -errno;
                                continue;
                        }

                        r = rm_rf_children(subfd, dev);
                        if (r < 0 && ret == 0)
                                ret = r;

                        if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT && ret == 0)
                                ret = -errno;
                } else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT && ret == 0)
                        ret = -errno;
        }
        if (errno != 0 && ret == 0)
                ret = -errno;

        return ret;
}

/**
 * rm_rf_at() - remove a file or directory tree
 * @dirfd: directory fd (or AT_FDCWD) that @name is relative to
 * @name: what to remove
 *
 * Symlinks are removed, never followed. Directories on another file system than @name itself are
 * not entered (the removal then fails with -EXDEV, after removing everything else).
 *
 * Return: 0 (also when @name does not exist) or a negative errno.
 */
int rm_rf_at(int dirfd, const char *name) {
        struct stat st;
        int fd, r;

        if (isempty(name))
                return -EINVAL;

        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;

        if (!S_ISDIR(st.st_mode)) {
                if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
                        return -errno;
                return 0;
        }

        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;

        r = rm_rf_children(fd, st.st_dev);   /* takes fd */
        if (r < 0)
                return r;

        if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

/**
 * mkdir_p() - create a directory and its missing parents
 * @path: the directory
 * @mode: mode of every directory created (subject to the umask)
 *
 * Return: 0 (also when it exists already) or a negative errno; -ENOTDIR when a component is not
 * a directory.
 */
int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = NULL;
        struct stat st;

        if (isempty(path))
                return -EINVAL;

        p = strdup(path);
        if (!p)
                return -ENOMEM;

        for (char *s = p + 1;; s++) {
                bool last = *s == '\0';

                if (!last && *s != '/')
                        continue;
                if (s[-1] == '/') {     /* repeated or trailing slash */
                        if (last)
                                break;
                        continue;
                }

                *s = '\0';
                if (mkdir(p, mode) < 0) {
                        if (errno != EEXIST)
                                return -errno;
                        if (stat(p, &st) < 0)
                                return -errno;
                        if (!S_ISDIR(st.st_mode))
                                return -ENOTDIR;
                }
                if (last)
                        break;
                *s = '/';
        }
        return 0;
}

static int check_executable(const char *path) {
        struct stat st;

        if (stat(path, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EACCES;
        if (access(path, X_OK) < 0)
                return -errno;
        return 0;
}

static int try_dir(const char *dir, size_t dir_len, const char *name, char **ret) {
        _cleanup_free_ char *p = NULL;

        if (dir_len == 0 || dir[0] != '/')
                return -ENOENT;         /* relative $PATH entries are ignored */

        if (asprintf(&p, "%.*s/%s", (int) dir_len, dir, name) < 0)
                return -ENOMEM;
        if (check_executable(p) < 0)
                return -ENOENT;

        *ret = TAKE_PTR(p);
        return 0;
}

/**
 * find_executable() - look up a program
 * @name: an absolute path, or a plain name
 * @extra_dir: a directory searched after $PATH (may be NULL)
 * @ret: the absolute path found
 *
 * A name containing '/' must be absolute and is only checked. A plain name is searched in $PATH
 * (default "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"), then in @extra_dir.
 *
 * Return: 0, -EINVAL (empty or relative path), -ENOENT (not found), or the error of an absolute
 * path that is not an executable file.
 */
int find_executable(const char *name, const char *extra_dir, char **ret) {
        const char *path;
        char *p;
        int r;

        if (isempty(name) || !ret)
                return -EINVAL;

        if (strchr(name, '/')) {
                if (!path_is_absolute(name))
                        return -EINVAL;
                r = check_executable(name);
                if (r < 0)
                        return r;
                p = strdup(name);
                if (!p)
                        return -ENOMEM;
                *ret = p;
                return 0;
        }

        path = getenv("PATH") ?: DEFAULT_PATH;
        for (const char *c = path;;) {
                size_t n = strcspn(c, ":");

                r = try_dir(c, n, name, ret);
                if (r != -ENOENT)
                        return r;
                if (c[n] == '\0')
                        break;
                c += n + 1;
        }

        if (extra_dir)
                return try_dir(extra_dir, strlen(extra_dir), name, ret);
        return -ENOENT;
}

/**
 * get_self_dir() - the directory of the running binary
 * @ret: its absolute path
 *
 * Return: 0 or a negative errno.
 */
int get_self_dir(char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t allocated = 256;
        char *slash;

        if (!ret)
                return -EINVAL;

        for (;;) {
                ssize_t k;

                free(buf);
                buf = malloc(allocated);
                if (!buf)
                        return -ENOMEM;
                k = readlink("/proc/self/exe", buf, allocated);
                if (k < 0)
                        return -errno;
                if ((size_t) k < allocated) {
                        buf[k] = '\0';
                        break;
                }
                if (allocated >= 64 * 1024)
                        return -ENAMETOOLONG;
                allocated *= 2;
        }

        slash = strrchr(buf, '/');
        if (!slash || buf[0] != '/')
                return -EBADMSG;
        if (slash == buf)
                slash[1] = '\0';
        else
                *slash = '\0';

        *ret = TAKE_PTR(buf);
        return 0;
}
