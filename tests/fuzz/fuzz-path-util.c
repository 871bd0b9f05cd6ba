/* Fuzzes what guards berth's file names and what parses callers' JSON: container_id_is_valid() (the
 * one gate that keeps "..", "/" and friends out of state paths), path_is_normalized() (LogPath),
 * and json_parse_object() (config.json and every JSON berth reads). Invariants:
 * - both validators agree with a plain reading of their definition, written here once more:
 *   an id is ^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$; a normalized path is non-empty, shorter than
 *   PATH_MAX, without "." or ".." components and without empty ones but a leading or one trailing;
 * - json_parse_object() reads only the @size bytes it is given (the copy is exactly that long, not
 *   NUL-terminated), returns an object or -EBADMSG with a reason, and what it returns prints as
 *   JSON that parses to an object again. */

#include <errno.h>
#include <limits.h>

#include "fuzz.h"
#include "macro.h"
#include "path-util.h"

static bool ref_id_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n < 1 || n > 128)
                return false;
        for (size_t i = 0; i < n; i++) {
                bool alnum = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                             (s[i] >= '0' && s[i] <= '9');
                if (!alnum && (i == 0 || !strchr("_.-", s[i])))
                        return false;
        }
        return true;
}

static bool ref_path_is_normalized(const char *s) {
        size_t n = strlen(s), start = 0;

        if (n == 0 || n >= PATH_MAX)
                return false;
        for (size_t i = 0; i <= n; i++) {
                size_t len;

                if (i < n && s[i] != '/')
                        continue;
                len = i - start;
                if ((len == 1 && s[start] == '.') || (len == 2 && s[start] == '.' && s[start + 1] == '.'))
                        return false;
                /* Empty: only before a leading '/' or after one trailing '/' ("/" is both). */
                if (len == 0 && start != 0 && !(i == n && (n == 1 || s[n - 2] != '/')))
                        return false;
                start = i + 1;
        }
        return true;
}

static void check_json(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = (char *) fuzz_memdup(data, size), *reason = NULL;
        _cleanup_json_ json_object *obj = NULL, *again = NULL;
        const char *printed;
        int r;

        r = json_parse_object(text, size, &obj, &reason);
        if (r < 0) {
                fuzz_check(r == -EBADMSG && reason && !obj);
                return;
        }
        fuzz_check(r == 0 && !reason && json_object_is_type(obj, json_type_object));
        printed = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
        fuzz_check(printed);
        fuzz_check(json_parse_object(printed, strlen(printed), &again, NULL) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = fuzz_strndup(data, size);

        fuzz_check(container_id_is_valid(s) == ref_id_is_valid(s));
        fuzz_check(path_is_normalized(s) == ref_path_is_normalized(s));
        fuzz_check(path_is_absolute(s) == (s[0] == '/'));
        check_json(data, size);
        return 0;
}
