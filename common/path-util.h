/* Validation of container ids and bundles; directory helpers. */
#pragma once

#include <stdbool.h>
#include <json-c/json.h>

#define CONTAINER_ID_MAX 128

bool container_id_is_valid(const char *id);
bool path_is_absolute(const char *p);
bool path_is_normalized(const char *p);

/* Checks a bundle: absolute, a directory, holds config.json which is a JSON object.
 * Returns -EINVAL (not absolute), -ENOENT, -ENOTDIR, -EFBIG, -EBADFD (config.json is not a regular
 * file), -EBADMSG (config.json not a JSON object).
 * On -EBADMSG *ret_reason (if given) holds json-c's message. ret_config gets the parsed object. */
int bundle_validate(const char *bundle, json_object **ret_config, char **ret_reason);
int json_parse_object(const char *text, size_t size, json_object **ret, char **ret_reason);

/* Removes a directory tree below dirfd (no symlinks followed, stays on one file system). */
int rm_rf_at(int dirfd, const char *name);
int mkdir_p(const char *path, mode_t mode);

/* Finds an executable: an absolute path as is, else each $PATH entry, then extra_dir (may be NULL). */
int find_executable(const char *name, const char *extra_dir, char **ret);

/* Directory of /proc/self/exe, for finding siblings of the running binary. */
int get_self_dir(char **ret);
