// The figures of `meshtrain report`: one gnuplot script with the data inline (figures.gp, kept next to
// the figures so they can be re-rendered or restyled), run by gnuplot into PNG (pngcairo) and SVG.
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "report.h"

const char *const FIG_FILE[FIG_N] = {"accuracy-epoch", "accuracy-mb", "accuracy-time", "energy"};

// Okabe-Ito colours (told apart with colour-blindness too), grey instead of the pale yellow.
static const char *const COLORS[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                     "#E69F00", "#56B4E9", "#000000", "#999999"};
// Filled and open markers alternate, and so do solid and dashed lines, so that runs with the same
// curve (the same algorithm over other links) still show each other.
static const int POINTS[] = {7, 4, 9, 12, 5, 6, 11, 14};

int gnuplot_find(char *path, size_t n) {
    const char *p = getenv("PATH");
    while (p && *p) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        if (len && (size_t)snprintf(path, n, "%.*s/gnuplot", (int)len, p) < n && access(path, X_OK) == 0) return 0;
        p += len + (colon ? 1 : 0);
    }
    return -1;
}

// A gnuplot double-quoted string; tic labels are formats to gnuplot, so their % are doubled.
static void gp_string(FILE *f, const char *s, int is_format) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '\n') { fputs("\\n", f); continue; }
        if (*s == '%' && is_format) fputc('%', f);
        if (*s == '"' || *s == '\\') fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void gp_str(FILE *f, const char *s) { gp_string(f, s, 0); }

static void gp_title(FILE *f, const char *what, const char *title, const char *subtitle) {
    char t[1200];
    if (title[0]) snprintf(t, sizeof t, "%s\n%s%s%s", title, what, subtitle[0] ? ": " : "", subtitle);
    else snprintf(t, sizeof t, "%s%s%s", what, subtitle[0] ? "\n" : "", subtitle);
    fputs("set title ", f);
    gp_str(f, t);
    fputs(" font 'Sans,15'\n", f);
}

// Line figures: 1280 px wide, taller with more runs, whose legend lines are below the plot.
static void render_begin(FILE *f, int fig, int h) {
    fprintf(f, "set terminal pngcairo size 1280,%d font 'Sans,13' noenhanced linewidth 1.3\nset output '%s.png'\n", h,
            FIG_FILE[fig]);
}
static void render_end(FILE *f, int fig, int h) {
    fprintf(f, "set terminal svg size 1280,%d font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3\n"
               "set output '%s.svg'; replot; unset output\n", h, FIG_FILE[fig]);
}

// Does run r appear in figure fig?
static int in_fig(const RepRun *r, int fig) {
    if (r->status != RUN_OK || !r->n_ev) return 0;
    return fig == FIG_EPOCH || (fig == FIG_MB && r->has_bytes) || (fig == FIG_TIME && r->has_time);
}

// Accuracy (mean over agents, %) against column xcol of the run's data block.
static int line_fig(FILE *f, const RepRun *runs, int n, int fig, int xcol, const char *what, const char *xlabel,
                    const char *title, const char *subtitle) {
    int count = 0;
    for (int i = 0; i < n; i++) count += in_fig(&runs[i], fig);
    if (!count) return 0;
    fprintf(f, "\n# %s\nunset logscale; set autoscale; set format x '%%g'; set ytics auto; set grid\n", FIG_FILE[fig]);
    int h = 620 + 25 * count;
    h = h < 760 ? 760 : h > 2400 ? 2400 : h;
    fprintf(f, "set key outside below left vertical Left reverse samplen 3 spacing 1.15 height 1 maxrows %d\n", count);
    fprintf(f, "set offsets graph 0.02, graph 0.02, graph 0.06, graph 0.06\n");
    if (fig == FIG_MB) fprintf(f, "set logscale x 10; set format x '%%g'; set mxtics 10\n");
    if (fig == FIG_TIME || fig == FIG_EPOCH)
        fprintf(f, "set offsets 0, graph 0.02, graph 0.06, graph 0.06; set xrange [0:*]\n");
    gp_title(f, what, title, subtitle);
    fputs("set xlabel ", f);
    gp_str(f, xlabel);
    fputs("\nset ylabel 'test accuracy, mean over agents (%)'\n", f);
    render_begin(f, fig, h);
    fputs("plot ", f);
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (!in_fig(&runs[i], fig)) continue;
        int style = 0;   // a run keeps its style in every figure: its place among the finished runs
        for (int j = 0; j <= i; j++) style += runs[j].status == RUN_OK;
        fprintf(f, "%s$run%d using %d:2 with linespoints ls %d title ", k++ ? ", \\\n     " : "", i, xcol, style);
        gp_str(f, runs[i].label);
    }
    fputc('\n', f);
    render_end(f, fig, h);
    return 1;
}

// UTF-8 characters in s: gnuplot's margins are set from the longest run label.
static int u8_len(const char *s) {
    int n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

// Two panels sharing the run axis: stacked joules (compute, communication) and the same split as
// shares, so that the split of a run hundreds of times smaller than the largest stays visible.
static void energy_fig(FILE *f, const RepRun *runs, int n, const char *title, const char *subtitle) {
    int count = 0, width = 0;
    double max = 0;
    for (int i = 0; i < n; i++) {
        if (runs[i].status != RUN_OK) continue;
        count++;
        if (runs[i].e_total > max) max = runs[i].e_total;
        if (u8_len(runs[i].label) > width) width = u8_len(runs[i].label);
    }
    fputs("\n# energy: one bar per run, top to bottom in the order of REPORT.md\n$energy << EOD\n# y compute_J comm_J "
          "total_J label\n",
          f);
    int y = count;
    for (int i = 0; i < n; i++)
        if (runs[i].status == RUN_OK) {
            fprintf(f, "%d %.6g %.6g %.6g ", y--, runs[i].e_compute, runs[i].e_comm, runs[i].e_total);
            gp_str(f, runs[i].label);   // a quoted string column: a tic label read from data is not a format
            fputc('\n', f);
        }
    fputs("EOD\n", f);
    // Pixels: the run labels (about 9 per character), the joules panel (at least 400), a gap, the
    // shares panel (320) and a margin; wider than 1280 only when the labels need it.
    int h = 280 + 70 * count, labels = 9 * width + 24, w = labels + 810 > 1280 ? labels + 810 : 1280;
    h = h < 560 ? 560 : h > 2400 ? 2400 : h;
    double top = 1 - 95.0 / h, bottom = 150.0 / h;
    char t[1200];
    if (title[0])
        snprintf(t, sizeof t, "%s\nEstimated energy per run, summed over agents%s%s", title, subtitle[0] ? ": " : "",
                 subtitle);
    else snprintf(t, sizeof t, "Estimated energy per run, summed over agents%s%s", subtitle[0] ? "\n" : "", subtitle);
    for (int term = 0; term < 2; term++) {
        if (term == 0)
            fprintf(
                f,
                "set terminal pngcairo size %d,%d font 'Sans,13' noenhanced linewidth 1.3\nset output 'energy.png'\n",
                w, h);
        else
            fprintf(
                f,
                "set terminal svg size %d,%d font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3\n"
                "set output 'energy.svg'\n",
                w, h);
        fputs("unset logscale; set autoscale; unset offsets; set format x '%g'; set grid xtics noytics; unset mxtics; "
              "unset title\n"
              "set style fill solid 0.9 border lc rgb '#333333'\nset multiplot title ",
              f);
        gp_str(f, t);
        fprintf(f, " font 'Sans,15'\nset tmargin at screen %.4f; set bmargin at screen %.4f\n", top, bottom);
        fprintf(f,
                "set lmargin at screen %.4f; set rmargin at screen %.4f\nset yrange [0.4:%d.6]; set xrange [0:%.6g]\n",
                (double)labels / w, (w - 410.0) / w, count, max > 0 ? max * 1.3 : 1);
        fputs("set ytics scale 0\nunset ylabel\n", f);
        fputs("set xlabel 'energy (J), an estimate (summary.json energy_j)'\nset key at screen 0.5, screen 0.012 "
              "center bottom horizontal samplen 2\n"
              "plot $energy using ($2/2):1:($2/2):(0.32):ytic(5) with boxxyerror lc rgb '#0072B2' title 'compute', \\\n"
              "     '' using ($2+$3/2):1:($3/2):(0.32) with boxxyerror lc rgb '#E69F00' title 'communication', \\\n"
              "     '' using 4:1:(sprintf('  %.3g J', $4)) with labels left font 'Sans,12' notitle\n",
              f);
        fprintf(f, "set lmargin at screen %.4f; set rmargin at screen %.4f; set xrange [0:100]; set xtics 0, 25, 100\n"
                   "set ytics 1 scale 0 format ''\n", (w - 358.0) / w, (w - 38.0) / w);
        fputs("set xlabel \"share of the run's energy (%)\"\nunset key\n"
              "plot $energy using (50*$2/$4):1:(50*$2/$4):(0.32) with boxxyerror lc rgb '#0072B2' notitle, \\\n"
              "     '' using (100*$2/$4+50*$3/$4):1:(50*$3/$4):(0.32) with boxxyerror lc rgb '#E69F00' notitle\n"
              "unset multiplot; unset output\nset xtics autofreq; set ytics autofreq; set format y '%g'\n", f);
    }
}

static int script_write(const RepRun *runs, int n, const char *path, const char *title, const char *subtitle,
                        int made[FIG_N], Err *e) {
    FILE *f = fopen(path, "w");
    if (!f) { err_set(e, "%s: cannot create: %s", path, strerror(errno)); return -1; }
    fputs("# The figures of a meshtrain report, with their data: re-render in this folder with `gnuplot figures.gp`.\n"
          "set encoding utf8\n", f);
    for (int i = 0; i < n; i++)
        fprintf(f, "set style line %d lc rgb '%s' lw 2 pt %d ps 1.4 dt %d\n", i + 1, COLORS[i % 8], POINTS[i % 8],
                i % 2 ? 2 + (i / 8) % 3 : 1);
    for (int i = 0; i < n; i++) {
        const RepRun *r = &runs[i];
        if (r->status != RUN_OK || !r->n_ev) continue;
        fprintf(f, "\n# %s: %s\n$run%d << EOD\n# epoch acc_mean_pct t_s cumulative_MB\n", r->dir, r->label, i);
        for (int k = 0; k < r->n_ev; k++) {
            const RepEval *v = &r->ev[k];
            fprintf(f, "%.6g %.4f ", v->epoch, 100 * v->acc_mean);
            fprintf(f, isnan(v->t_s) ? "NaN " : "%.6g ", v->t_s);
            fprintf(f, v->bytes < 0 ? "NaN\n" : "%.6g\n", v->bytes / 1e6);
        }
        fputs("EOD\n", f);
    }
    made[FIG_EPOCH] = line_fig(f, runs, n, FIG_EPOCH, 1, "Accuracy vs epoch",
                               "epoch (passes over each agent's partition)", title, subtitle);
    made[FIG_MB] = line_fig(f, runs, n, FIG_MB, 4, "Accuracy vs data sent",
                            "data sent by all agents so far, payload + frame headers (MB, log scale)", title, subtitle);
    made[FIG_TIME] = line_fig(f, runs, n, FIG_TIME, 3, "Accuracy vs wall-clock time",
                              "wall-clock time since the start barrier (s)", title, subtitle);
    energy_fig(f, runs, n, title, subtitle);
    made[FIG_ENERGY] = 1;
    if (fclose(f) != 0) { err_set(e, "%s: write failed: %s", path, strerror(errno)); return -1; }
    return 0;
}

// gnuplot's own words (its log), last lines first trimmed to fit.
static void log_tail(const char *dir, char *out, size_t n) {
    char p[PATH_MAX + 32], buf[4096];
    snprintf(p, sizeof p, "%s/gnuplot.log", dir);
    out[0] = 0;
    FILE *f = fopen(p, "r");
    if (!f) return;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = 0;
    const char *s = len > n - 1 ? buf + len - (n - 1) : buf;
    str_copy(out, n, s);
}

int report_plot(const RepRun *runs, int n, const char *dir, const char *gnuplot, const char *title,
                const char *subtitle, int made[FIG_N], Err *e) {
    char script[PATH_MAX + 32];
    snprintf(script, sizeof script, "%s/figures.gp", dir);
    if (script_write(runs, n, script, title, subtitle, made, e)) return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) { err_set(e, "cannot start gnuplot: %s", strerror(errno)); return -1; }
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        if (chdir(dir) != 0) _exit(126);
        int out = open("gnuplot.log", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0) _exit(126);
        dup2(in, 0);
        dup2(out, 1);
        dup2(out, 2);
        execl(gnuplot, "gnuplot", "figures.gp", (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    char log[1500];
    log_tail(dir, log, sizeof log);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        err_set(e, "gnuplot failed (%s %d) on the report's figures.gp; nothing was written. It said:\n%s",
                WIFEXITED(st) ? "status" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), log);
        return -1;
    }
    for (int fig = 0; fig < FIG_N; fig++) {
        static const char *const EXT[] = {"png", "svg"};
        for (int x = 0; made[fig] && x < 2; x++) {
            char p[PATH_MAX + 64];
            struct stat sb;
            snprintf(p, sizeof p, "%s/%s.%s", dir, FIG_FILE[fig], EXT[x]);
            if (stat(p, &sb) != 0 || sb.st_size == 0) {
                err_set(e, "gnuplot wrote no %s.%s (expected from the report's figures.gp)%s%s", FIG_FILE[fig], EXT[x],
                        log[0] ? "; it said:\n" : "", log);
                return -1;
            }
        }
    }
    if (log[0]) fprintf(stderr, "meshtrain report: gnuplot said:\n%s", log);
    return 0;
}
