// Control-message tests: a report (u32 JSON length, the JSON, then floats) packs to the documented
// bytes, unpacks to the same JSON and floats, and a truncated or lying length prefix is refused.
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "ctl.h"

Test(ctl, report_round_trip) {
    const char *json = "{\"index\":3}";
    float params[3] = {1.0f, -2.5f, 3.25f}, state[2] = {0.5f, 7.0f};
    CtlFloats spans[2] = {{params, 3}, {state, 2}};
    size_t len = 0;
    uint8_t *p = ctl_report_pack(json, spans, 2, &len);
    size_t tl = strlen(json);
    cr_assert_eq(len, 4 + tl + 5 * sizeof(float));
    cr_assert_eq(p[0], tl);   // little-endian length first
    cr_assert_eq(p[1] | p[2] | p[3], 0);
    CtlReport rep;
    cr_assert_eq(ctl_report_unpack(p, len, &rep), 0);
    cr_assert_eq(rep.json_len, tl);
    cr_assert_eq(memcmp(rep.json, json, tl), 0);
    cr_assert_eq(rep.float_bytes, 5 * sizeof(float));
    float back[5];
    memcpy(back, rep.floats, sizeof back);
    cr_assert_eq(memcmp(back, params, sizeof params), 0);
    cr_assert_eq(memcmp(back + 3, state, sizeof state), 0);
    free(p);
}

Test(ctl, report_without_floats) {
    size_t len = 0;
    uint8_t *p = ctl_report_pack("{}", NULL, 0, &len);
    CtlReport rep;
    cr_assert_eq(len, 6);
    cr_assert_eq(ctl_report_unpack(p, len, &rep), 0);
    cr_assert_eq(rep.json_len, 2);
    cr_assert_eq(rep.float_bytes, 0);
    free(p);
}

Test(ctl, report_refused_when_short) {
    uint8_t p[8] = {9, 0, 0, 0, '{', '}', 0, 0};   // claims 9 bytes of JSON, holds 4
    CtlReport rep;
    cr_assert_eq(ctl_report_unpack(p, 3, &rep), -1);
    cr_assert_eq(ctl_report_unpack(p, sizeof p, &rep), -1);
    cr_assert_eq(rep.json_len, 9);
}
