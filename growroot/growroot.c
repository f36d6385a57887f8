/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cvm-growroot: grow the partition, LUKS2 container and filesystem holding
 * the root filesystem to the end of its disk, online. */
#include <inttypes.h>
#include <stdio.h>
#include <sys/resource.h>

#include "growroot.h"
#include "json-util.h"
#include "keydata.h"
#include "log.h"
#include "main-func.h"
#include "options.h"
#include "secret.h"
#include "tpm2-util.h"

enum {
        ARG_ROOT = ARG_COMMON_MAX,
        ARG_DEVICE,
        ARG_DRY_RUN,
        ARG_INITRD,
        ARG_KEYDATA,
};

static CommonArgs arg_common = {};
static const char *arg_root = "/";
static const char *arg_device = NULL;
static bool arg_dry_run = false;
static bool arg_initrd = false;
static const char *arg_keydata = KEYDATA_PATH_DEFAULT;

static void help(void) {
        printf("%s [OPTIONS...]\n\n"
               "Grow the root partition, its LUKS2 container and its filesystem online.\n\n"
               "     --root=PATH          Grow the filesystem mounted at PATH (default: /)\n"
               "     --device=DEV         Grow this block device's stack instead\n"
               "     --initrd             Only grow the partition (before the root is opened);\n"
               "                          without --device, find it from rd.luks.uuid=,\n"
               "                          rd.luks.name= or root= on the kernel command line\n"
               "     --dry-run            Print the plan, write nothing\n"
               "     --keydata=FILE       Legacy key file to unlock with when no TPM2 token\n"
               "                          opens the volume (default: " KEYDATA_PATH_DEFAULT ")\n"
               TPM2_DEVICE_HELP
               COMMON_OPTIONS_HELP
               "\nSee cvm-growroot(8) for details.\n",
               program_invocation_short_name);
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                COMMON_LONG_OPTIONS,
                TPM2_LONG_OPTIONS,
                { "root", required_argument, NULL, ARG_ROOT },
                { "device", required_argument, NULL, ARG_DEVICE },
                { "dry-run", no_argument, NULL, ARG_DRY_RUN },
                { "initrd", no_argument, NULL, ARG_INITRD },
                { "keydata", required_argument, NULL, ARG_KEYDATA },
                {},
        };
        int c, r;

        while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS, options, NULL)) >= 0)
                switch (c) {
                case ARG_ROOT:
                        arg_root = optarg;
                        break;
                case ARG_DEVICE:
                        arg_device = optarg;
                        break;
                case ARG_DRY_RUN:
                        arg_dry_run = true;
                        break;
                case ARG_INITRD:
                        arg_initrd = true;
                        break;
                case ARG_KEYDATA:
                        arg_keydata = optarg;
                        break;
                default:
                        r = common_parse_option(c, optarg, &arg_common, help);
                        if (r <= 0)
                                return r;
                }
        if (optind < argc)
                return usage_error("unexpected argument '%s'", argv[optind]);
        return 1;
}

static int fail(int r, const char *what) {
        /* A refusal already said what is wrong and where, in one line. */
        if (!growroot_refused())
                log_error_errno(r, "Failed to %s: %m", what);
        return growroot_exit_status(r);
}

/* The volume needs a key that only the TPM would give, and the TPM did
 * not open: say which of "there is none" and "it does not answer". */
static int no_tpm(int r, int tpm2_error) {
        _cleanup_free_ char *why = NULL;

        log_error_errno(r, "Failed to unlock the LUKS2 volume: %s, so no TPM2 token opens it, and there is no legacy "
                        "key; the volume was not resized.",
                        tpm2_open_error_text(tpm2_error, arg_common.tpm2_device, &why));
        return growroot_exit_status(r);
}

static void print_step(const char *step, bool changed, uint64_t from, uint64_t to, const char *detail) {
        if (arg_common.json != JSON_OFF)
                return;
        if (!changed)
                printf("%-10s nothing to do (%" PRIu64 " bytes)%s%s\n", step, from, detail ? ", " : "", strempty(detail));
        else
                printf("%-10s %s %" PRIu64 " -> %" PRIu64 " bytes%s%s\n", step, arg_dry_run ? "would grow" : "grew",
                       from, to, detail ? ", " : "", strempty(detail));
}

/* Where a run's memory goes (bench/growroot reports the peak). */
static void log_peak_rss(const char *step) {
        struct rusage ru;

        if (getrusage(RUSAGE_SELF, &ru) == 0)
                log_debug("Peak RSS after the %s step: %ld KiB.", step, ru.ru_maxrss);
}

static json_object *json_step(bool changed, uint64_t from, uint64_t to) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "changed", json_object_new_boolean(changed));
        json_object_object_add(o, "old_size", json_object_new_int64((int64_t) from));
        json_object_object_add(o, "new_size", json_object_new_int64((int64_t) to));
        return o;
}

static int run(int argc, char *argv[]) {
        _cleanup_(json_object_putp) json_object *out = json_object_new_object();
        _cleanup_(block_stack_done) BlockStack s = {};
        _cleanup_free_ char *initrd_device = NULL;
        bool any = false;
        /* --dry-run: the size the next device up would have once the step
         * below it ran, so the plan shows every step that a real run would
         * take (0: nothing planned below, use the device's size). */
        uint64_t planned = 0;
        struct rusage ru;
        int r;

        log_setup("cvm-growroot");
        secret_harden_process();
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;
        if (!arg_initrd && access("/etc/initrd-release", F_OK) == 0)
                arg_initrd = true;
        if (arg_initrd && !arg_device) {
                r = initrd_find_device(/* timeout_sec= */ 30, &initrd_device);
                if (r < 0)
                        return fail(r, "find the root device from the kernel command line");
                arg_device = initrd_device;
        }

        r = arg_device ? block_stack_from_device(arg_device, &s) : block_stack_from_mount(arg_root, &s);
        if (r < 0)
                return fail(r, "resolve the device stack");
        (void) log_set_field("CVM_DEVICE", s.disk);
        if (arg_initrd) {
                /* Which device the initrd run grows, and who chose it: the
                 * generator (--device=) or our own command-line lookup. */
                const char *from = initrd_device ? "found from the kernel command line" : "--device=";
                if (s.partno > 0)
                        log_info("Root device '%s' (%s): partition %u of %s.", arg_device, from, s.partno, s.disk);
                else
                        log_info("Root device '%s' (%s): the whole disk %s, no partition to grow.", arg_device,
                                 from, s.disk);
        }
        json_object_object_add(out, "disk", json_object_new_string(s.disk));
        if (s.part_device)
                json_object_object_add(out, "partition", json_object_new_string(s.part_device));
        if (s.crypt_name)
                json_object_object_add(out, "luks", json_object_new_string(s.crypt_name));

        /* Refuse a filesystem we cannot grow before the partition step
         * writes anything: bad input leaves the disk as it was. */
        if (s.mountpoint && !arg_initrd) {
                r = fs_check(&s);
                if (r < 0)
                        return fail(r, "check the filesystem");
        }

        if (s.partno > 0) {
                PartPlan p = {};
                r = arg_dry_run ? part_plan(&s, &p) : part_apply(&s, &p);
                if (r < 0)
                        return fail(r, "grow the partition");
                print_step("partition", r > 0, (p.old_end - p.start + 1) * p.sector_size,
                           (p.new_end - p.start + 1) * p.sector_size,
                           p.relocate_backup ? "backup GPT header moved to the end of the disk" : NULL);
                json_object *j = json_step(r > 0, (p.old_end - p.start + 1) * p.sector_size,
                                           (p.new_end - p.start + 1) * p.sector_size);
                json_object_object_add(j, "label", json_object_new_string(p.label));
                json_object_object_add(j, "backup_relocated", json_object_new_boolean(p.relocate_backup));
                json_object_object_add(out, "partition_step", j);
                any = any || r > 0;
                planned = arg_dry_run && r > 0 ? (p.new_end - p.start + 1) * p.sector_size : 0;
                growroot_unload_partition_libs();
                log_peak_rss("partition");
        }

        if (s.crypt_name && !arg_initrd) {
                LuksPlan l = {};
                r = luks_grow(&s, arg_common.tpm2_device, arg_keydata, arg_dry_run, planned, &l);
                if (r == -ENOKEY && l.tpm2_error < 0)
                        return no_tpm(r, l.tpm2_error);
                if (r < 0)
                        return fail(r, r == -ENOKEY ? "unlock the LUKS2 volume: no TPM2 token opens it and there is "
                                                      "no legacy key; the volume was not resized"
                                                    : "grow the LUKS2 volume");
                print_step("luks", r > 0, l.old_size, l.new_size, NULL);
                json_object *j = json_step(r > 0, l.old_size, l.new_size);
                json_object_object_add(j, "unlocked_with", json_object_new_string(l.unlocked_with));
                json_object_object_add(j, "tpm2_commands", json_object_new_int((int) l.tpm2_commands));
                json_object_object_add(out, "luks_step", j);
                any = any || r > 0;
                planned = arg_dry_run && r > 0 ? l.new_size : 0;
                log_peak_rss("luks");
        }

        if (s.mountpoint && !arg_initrd) {
                FsPlan f = {};
                r = fs_grow(&s, arg_dry_run, planned, &f);
                if (r < 0)
                        return fail(r, "grow the filesystem");
                print_step(f.type, r > 0, f.old_size, f.new_size, NULL);
                json_object *j = json_step(r > 0, f.old_size, f.new_size);
                json_object_object_add(j, "type", json_object_new_string(f.type));
                json_object_object_add(out, "filesystem_step", j);
                any = any || r > 0;
        }

        json_object_object_add(out, "changed", json_object_new_boolean(any && !arg_dry_run));
        json_object_object_add(out, "dry_run", json_object_new_boolean(arg_dry_run));
        if (getrusage(RUSAGE_SELF, &ru) == 0)
                json_object_object_add(out, "maxrss_kb", json_object_new_int64(ru.ru_maxrss));
        if (arg_common.json == JSON_OFF && !any)
                printf("Nothing to grow on %s.\n", s.disk);
        return json_print(out, arg_common.json);
}

DEFINE_MAIN_FUNCTION(run);
