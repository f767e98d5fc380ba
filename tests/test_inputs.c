// Tests for the checks on input files and strings (issue #9): UTF-8 validation, scenario files that are
// folders, too large or hold a key twice, and relative topology.file resolved against the scenario's folder.
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "scenario.h"
#include "util.h"

Test(inputs, utf8_valid_accepts_utf8_and_rejects_the_rest) {
    cr_expect(utf8_valid(""));
    cr_expect(utf8_valid("results/runs/a"));
    cr_expect(utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));   // 2-, 3- and 4-byte sequences
    cr_expect(!utf8_valid("\xff"), "0xff is never UTF-8");
    cr_expect(!utf8_valid("a\xc3"), "a truncated sequence");
    cr_expect(!utf8_valid("\xc0\xaf"), "an overlong '/'");
    cr_expect(!utf8_valid("\xe0\x80\xaf"), "an overlong 3-byte form");
    cr_expect(!utf8_valid("\xed\xa0\x80"), "a UTF-16 surrogate");
    cr_expect(!utf8_valid("\xf4\x90\x80\x80"), "past U+10FFFF");
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

Test(inputs, scenario_file_read_refuses_folders_duplicates_and_huge_files) {
    char dir[] = "/tmp/meshtrain-inputs-XXXXXX", p[256];
    cr_assert(mkdtemp(dir));
    Err e = {{0}};
    cr_expect_null(scenario_file_read(dir, &e));
    cr_expect(strstr(e.msg, "is a folder"), "%s", e.msg);
    snprintf(p, sizeof p, "%s/dup.json", dir);
    write_file(p, "{\"name\": \"a\",\n \"epochs\": 1, \"epochs\": 2}");
    cr_expect_null(scenario_file_read(p, &e));
    cr_expect(strstr(e.msg, "dup.json:2:") && strstr(e.msg, "duplicate"), "%s", e.msg);
    snprintf(p, sizeof p, "%s/big.json", dir);
    FILE *f = fopen(p, "w");
    cr_assert(f);
    for (int i = 0; i <= SCEN_MAX_BYTES / 4096; i++) fprintf(f, "%4096s", "");
    fclose(f);
    cr_expect_null(scenario_file_read(p, &e));
    cr_expect(strstr(e.msg, "larger than 16 MiB"), "%s", e.msg);
    unlink(p);
    snprintf(p, sizeof p, "%s/ok.json", dir);
    write_file(p, "{\"name\": \"a\"}");
    json_t *o = scenario_file_read(p, &e);
    cr_expect(json_is_object(o), "%s", e.msg);
    json_decref(o);
    unlink(p);
    snprintf(p, sizeof p, "%s/dup.json", dir);
    unlink(p);
    rmdir(dir);
}

Test(inputs, relative_topology_file_is_next_to_the_scenario) {
    char d[] = "/tmp/meshtrain-topo-XXXXXX", edges[256], scen[256];
    cr_assert(mkdtemp(d));
    snprintf(edges, sizeof edges, "%s/edges.txt", d);
    snprintf(scen, sizeof scen, "%s/s.json", d);
    write_file(edges, "0 1\n");
    json_t *root = json_pack("{s:s, s:{s:s, s:s}}", "name", "t", "topology", "kind", "file", "file", "edges.txt");
    Err e = {{0}};
    cr_assert_eq(scenario_paths_resolve(root, scen, &e), 0, "%s", e.msg);
    const char *got = json_string_value(json_object_get(json_object_get(root, "topology"), "file"));
    char want[PATH_MAX];
    cr_assert(realpath(edges, want));
    cr_expect_str_eq(got, want);
    json_decref(root);
    unlink(edges);
    rmdir(d);
}
