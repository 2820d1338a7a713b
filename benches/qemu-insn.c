/* benches/qemu-insn.c — a qemu-user TCG plugin that counts the guest instructions a
 * process executes (every thread), for `cargo bench --bench relay` with BENCH_QEMU set:
 * instruction counts on armv7 or mipsel under qemu repeat from run to run, times do not.
 *
 * Usage: qemu-mipsel -plugin ./qemu-insn.so,out=/tmp/count ./telbridge run ...
 * The running total is written to `out` (replaced atomically) every 20 ms and at exit; the
 * bench reads it before and after its load.
 *
 * Only the plugin API of QEMU 7.2 and later (API version 1) is used, declared here so no
 * QEMU headers are needed: cc -shared -fPIC -O2 -o qemu-insn.so qemu-insn.c -lpthread */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
typedef struct qemu_info_t qemu_info_t;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS = 0 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
extern size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
extern void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
extern void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
                                                 enum qemu_plugin_cb_flags flags, void *userdata);
extern void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

static uint64_t count;
static char out[4096];

/* Every thread of the guest adds here: an atomic add, so no count is lost between them. */
static void on_exec(unsigned int vcpu, void *n) {
    (void)vcpu;
    __atomic_fetch_add(&count, (uint64_t)(uintptr_t)n, __ATOMIC_RELAXED);
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_exec, QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)n);
}

static void write_count(void) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    fprintf(f, "%llu\n", (unsigned long long)__atomic_load_n(&count, __ATOMIC_RELAXED));
    fclose(f);
    rename(tmp, out);
}

static void *writer(void *arg) {
    (void)arg;
    for (;;) {
        write_count();
        usleep(20000);
    }
    return NULL;
}

static void on_exit_cb(qemu_plugin_id_t id, void *p) {
    (void)id;
    (void)p;
    write_count();
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                                               int argc, char **argv) {
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "out=", 4) == 0) snprintf(out, sizeof out, "%s", argv[i] + 4);
    }
    if (!out[0]) {
        fprintf(stderr, "qemu-insn: out=FILE is required\n");
        return -1;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, writer, NULL) != 0) return -1;
    pthread_detach(t);
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
    return 0;
}
