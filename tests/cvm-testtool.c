/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test-only driver for lib/ functions that have no CLI of their own yet.
 * Never installed. It prints unsealed secrets in hex on stdout — which is
 * exactly what a test needs to compare them with an independent tool, and
 * exactly what the real binaries must never do. */
#include <stdio.h>

#include "encode-util.h"
#include "file-util.h"
#include "log.h"
#include "pcr-predict.h"
#include "pcr-spec.h"
#include "tpm2-seal.h"

static int write_file(const char *path, const void *data, size_t size) {
        _cleanup_fclose_ FILE *f = fopen(path, "we");

        if (!f || fwrite(data, 1, size, f) != size || fflush(f) != 0)
                return log_error_errno(errno ?: EIO, "Failed to write '%s': %m", path);
        return 0;
}

static int read_file(const char *path, uint8_t **ret, size_t *ret_size) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ uint8_t *buf = malloc(TPM2_BLOB_MAX + 1);
        size_t n;

        if (!f || !buf)
                return log_error_errno(errno ?: ENOMEM, "Failed to open '%s': %m", path);
        n = fread(buf, 1, TPM2_BLOB_MAX + 1, f);
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

static int print_secret(const Secret *s) {
        _cleanup_free_ char *hex = NULL;
        int r = hex_encode(s->data, s->size, &hex);

        if (r < 0)
                return r;
        puts(hex);
        return 0;
}

/* seal TCTI PCRS BLOB: blob to BLOB, "alg policy-hex" to BLOB.meta. */
static int do_seal(char *argv[]) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = NULL;
        _cleanup_(secret_freep) Secret *secret = NULL;
        _cleanup_(tpm2_sealed_key_done) Tpm2SealedKey key = {};
        _cleanup_free_ char *policy = NULL, *meta = NULL, *meta_path = NULL;
        uint32_t mask;
        int r;

        if (pcr_mask_from_string(argv[1], &mask) < 0)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Bad PCR list '%s'.", argv[1]);
        r = tpm2_context_new(argv[0], &c);
        if (r < 0)
                return log_error_errno(r, "Failed to open TPM: %m");
        r = tpm2_seal(c, mask, &key, &secret);
        if (r < 0)
                return log_error_errno(r, "Failed to seal: %m");
        r = write_file(argv[2], key.blob, key.blob_size);
        if (r < 0)
                return r;
        r = hex_encode(key.policy_hash, key.policy_hash_size, &policy);
        if (r < 0)
                return r;
        if (asprintf(&meta, "%s %s\n", key.primary_alg == TPM2_ALG_ECC ? "ecc" : "rsa", policy) < 0 ||
            asprintf(&meta_path, "%s.meta", argv[2]) < 0)
                return log_oom();
        r = write_file(meta_path, meta, strlen(meta));
        if (r < 0)
                return r;
        fprintf(stderr, "tpm2-commands: %u\n", c->n_commands);
        return print_secret(secret);
}

/* unseal TCTI PCRS BLOB ALG POLICY-HEX */
static int do_unseal(char *argv[]) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = NULL;
        _cleanup_(secret_freep) Secret *secret = NULL;
        _cleanup_(tpm2_sealed_key_done) Tpm2SealedKey key = {};
        _cleanup_free_ void *policy = NULL;
        size_t policy_size = 0;
        int r;

        if (pcr_mask_from_string(argv[1], &key.pcr_mask) < 0)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Bad PCR list '%s'.", argv[1]);
        r = read_file(argv[2], &key.blob, &key.blob_size);
        if (r < 0)
                return r;
        key.pcr_bank = TPM2_ALG_SHA256;
        key.primary_alg = streq(argv[3], "ecc") ? TPM2_ALG_ECC : TPM2_ALG_RSA;
        if (hex_decode(argv[4], (size_t) -1, &policy, &policy_size) < 0 || policy_size > sizeof key.policy_hash)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Bad policy hash.");
        memcpy(key.policy_hash, policy, policy_size);
        key.policy_hash_size = policy_size;

        r = tpm2_context_new(argv[0], &c);
        if (r < 0)
                return log_error_errno(r, "Failed to open TPM: %m");
        r = tpm2_unseal(c, &key, &secret);
        if (r < 0)
                return log_error_errno(r, "Failed to unseal: %m");
        fprintf(stderr, "tpm2-commands: %u\n", c->n_commands);
        return print_secret(secret);
}

static int print_hex32(const uint8_t v[32]) {
        _cleanup_free_ char *hex = NULL;
        if (hex_encode(v, 32, &hex) < 0)
                return log_oom();
        puts(hex);
        return 0;
}

/* pe FILE: "authenticode HEX" and, for a UKI, "pcr11 HEX" (what
 * systemd-stub would leave in PCR 11), or the parser's reason. */
static int do_pe(const char *path) {
        _cleanup_free_ char *buf = NULL, *hex = NULL;
        const char *reason = NULL;
        uint8_t d[PE_SHA256_SIZE];
        size_t size = 0;
        PeFile pe;
        int r;

        r = read_full_file(path, 1024U * 1024U * 1024U, &buf, &size);
        if (r < 0)
                return log_error_errno(r, "Failed to read '%s': %m", path);
        r = pe_parse((const uint8_t *) buf, size, &pe, &reason);
        if (r < 0)
                return log_error_errno(r, "Bad PE image: %s", reason);
        r = pe_authenticode_sha256(&pe, d);
        if (r < 0)
                return log_error_errno(r, "Failed to hash: %m");
        printf("authenticode ");
        print_hex32(d);
        if (pe_is_uki(&pe)) {
                r = pcr_predict_uki_pcr11(&pe, d);
                if (r < 0)
                        return log_error_errno(r, "Failed to compute PCR 11: %m");
                printf("pcr11 ");
                print_hex32(d);
        }
        return 0;
}

/* eventlog FILE PCRS: "IDX HEX" per PCR, replayed; or the parser's reason. */
static int do_eventlog(const char *path, const char *pcrs) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_(eventlog_done) EventLog log = {};
        uint8_t v[EVENTLOG_PCR_MAX + 1][EVENTLOG_SHA256_SIZE];
        const char *reason = NULL;
        uint32_t mask;
        size_t size = 0;
        int r;

        if (pcr_mask_from_string(pcrs, &mask) < 0)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Bad PCR list '%s'.", pcrs);
        r = read_full_file(path, EVENTLOG_SIZE_MAX, &buf, &size);
        if (r < 0)
                return log_error_errno(r, "Failed to read '%s': %m", path);
        r = eventlog_parse((const uint8_t *) buf, size, &log, &reason);
        if (r < 0)
                return log_error_errno(r, "Bad event log: %s", reason);
        r = eventlog_replay(&log, mask, v);
        if (r < 0)
                return r;
        for (unsigned i = 0; i <= EVENTLOG_PCR_MAX; i++)
                if (mask & (UINT32_C(1) << i)) {
                        printf("%u ", i);
                        print_hex32(v[i]);
                }
        return 0;
}

int main(int argc, char *argv[]) {
        int r;

        log_setup("cvm-testtool");
        if (argc == 5 && streq(argv[1], "seal"))
                r = do_seal(argv + 2);
        else if (argc == 7 && streq(argv[1], "unseal"))
                r = do_unseal(argv + 2);
        else if (argc == 3 && streq(argv[1], "pe"))
                r = do_pe(argv[2]);
        else if (argc == 4 && streq(argv[1], "eventlog"))
                r = do_eventlog(argv[2], argv[3]);
        else {
                fprintf(stderr, "usage: %s seal TCTI PCRS BLOB | unseal TCTI PCRS BLOB ALG POLICY-HEX | pe FILE | "
                                "eventlog FILE PCRS\n", argv[0]);
                return 2;
        }
        return r < 0 ? 1 : 0;
}
