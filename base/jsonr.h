// The one validating JSON reader of meshtrain (scenario, link plan, mobility, energy): typed getters that take
// the parent object, its JSON path, the key, the range or the allowed values and the default. Absent keys give
// the default; the first error is kept, naming its path ("network.links[2].delay_ms: -5 is out of range ...").
#ifndef MESHTRAIN_JSONR_H
#define MESHTRAIN_JSONR_H
#include <jansson.h>
#include "util.h"

// JSON paths are built in buffers of this size (a longer path is cut, never overrun).
#define JSONR_PATH_LEN 320

// How a reader words its messages. Each input file has said things its own way for a long time, and users,
// scripts and tests match those words, so a reader keeps the wording of the file it reads.
enum {
    JSONR_RANGE_WORDS = 1,  // ranges read ">= lo and <= hi" (">= lo" without an upper bound), not "lo..hi"
    JSONR_TYPE_BARE = 2,    // a number of the wrong type: "expected a number", naming no range
    JSONR_TYPE_GOT = 4,     // a value of the wrong type also says what it is: "(got a string)"
    JSONR_KEY_QUOTED = 8,   // an unknown key is reported at its object's path: "path: unknown key 'k' (...)"
    JSONR_NOT_INTEGER = 16, // a number where an integer belongs: "2.5 is not an integer (expected 1..9)"
};

typedef struct {
    Err *e;                 // receives the first error
    int failed;             // 1 once an error is kept: later ones are dropped
    const char *file;       // NULL, or the file messages start with ("file: path: what")
    unsigned words;         // JSONR_* flags
} JsonR;

// Keep "path: what" (after "file: " when the reader has a file) unless an error is kept already.
void jsonr_fail(JsonR *r, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
// Keep the error a nested reader (another module's parser) filled in, which names its path already.
void jsonr_fail_err(JsonR *r, const Err *inner);
// "path.key", or "key" when path is "" (the top level).
void jsonr_path(char out[JSONR_PATH_LEN], const char *path, const char *key);
// "an object", "a string", ... for messages.
const char *jsonr_type_name(const json_t *v);

// Every key of obj must be in allowed or extra (NULL-terminated lists; extra may be NULL).
void jsonr_keys(JsonR *r, const json_t *obj, const char *path, const char *const *allowed,
                const char *const *extra);
// 1 if v (at path) is an object, else 0 and an error.
int jsonr_is_object(JsonR *r, const json_t *v, const char *path);
// obj[key] when it is an object; NULL when absent (no error) or not an object (an error).
const json_t *jsonr_obj(JsonR *r, const json_t *obj, const char *path, const char *key);

// A number in lo..hi at obj[key] (obj may be NULL), or def when absent or wrong.
double jsonr_num(JsonR *r, const json_t *obj, const char *path, const char *key, double lo, double hi, double def);
// The same with lo excluded (> lo).
double jsonr_num_gt(JsonR *r, const json_t *obj, const char *path, const char *key, double lo, double hi,
                    double def);
// A number v already in hand (an array element) at path p; lo excluded when lo_open.
double jsonr_num_value(JsonR *r, const json_t *v, const char *p, double lo, int lo_open, double hi, double def);
// An integer in lo..hi at obj[key], or def.
long jsonr_int(JsonR *r, const json_t *obj, const char *path, const char *key, long lo, long hi, long def);
// true or false at obj[key] as 1 or 0, or def.
int jsonr_bool(JsonR *r, const json_t *obj, const char *path, const char *key, int def);
// A string at obj[key] copied into out[n] (def when absent or wrong); when choices is not NULL it must be one
// of them ("a, b, c"). 0, or -1 if this value was wrong.
int jsonr_str(JsonR *r, const json_t *obj, const char *path, const char *key, const char *choices, const char *def,
              char *out, size_t n);
// The index in choices ("a, b, c") of the string at obj[key], or def when absent or wrong.
int jsonr_choice(JsonR *r, const json_t *obj, const char *path, const char *key, const char *choices, int def);

#endif
