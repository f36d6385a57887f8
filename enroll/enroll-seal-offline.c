/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cvm-enroll seal-offline: on the image build machine, which has no TPM,
 * seal a fresh secret to the target TPM's SRK public key and the PCR
 * values the target will have, as a TPM2_Import duplicate; add a keyslot
 * for it and a cvm-tpm2-import token (docs/IMPORT-TOKEN.md). */
#include <stdio.h>

#include "enroll-unlock.h"
#include "enroll.h"
#include "encode-util.h"
#include "file-util.h"
#include "json-util.h"
#include "log.h"
#include "luks-util.h"
#include "pcr-spec.h"
#include "pcr-values.h"
#include "test-hook.h"
#include "tpm2-duplicate.h"
#include "tpm2-import-token.h"
#include "tpm2-seal.h"

#define SRK_PUB_MAX (64U * 1024U)

static int load_srk(const char *path, TPM2B_PUBLIC *ret) {
        _cleanup_free_ char *text = NULL;
        const char *why = NULL;
        TPM2B_PUBLIC pub;
        size_t size = 0;
        int r;

        r = read_full_file(path, SRK_PUB_MAX, &text, &size);
        if (r < 0)
                return log_error_errno(r, "Failed to read --srk-pub file '%s': %m", path);
        r = tpm2_srk_public_load((const uint8_t *) text, size, &pub, &why);
        if (r == -EMEDIUMTYPE)
                return log_error_errno(r, "--srk-pub '%s' cannot be the parent of an imported key: %s.", path,
                                       why ?: "not a supported storage key");
        if (r < 0)
                return log_error_errno(r, "--srk-pub '%s' is not a TPM2B_PUBLIC, TPMT_PUBLIC or PEM public key.",
                                       path);
        *ret = pub;
        return 0;
}

static int load_policy(const EnrollArgs *a, uint8_t ret[TPM2_SHA256_SIZE]) {
        uint8_t values[PCR_INDEX_MAX + 1][PCR_VALUE_SIZE];
        uint8_t digest[TPM2_SHA256_SIZE] = {};
        PcrValues v;
        int r;

        if (a->pcr_mask == 0) {
                /* Like systemd's empty --tpm2-pcrs=: bound to the TPM only. */
                if (a->pcr_values)
                        return usage_error("--pcr-values= given, but --pcrs= selects no PCR");
                memcpy(ret, digest, sizeof digest);
                return 0;
        }
        if (!a->pcr_values)
                return usage_error("seal-offline needs --pcr-values=FILE|IDX=HEX,... for the PCRs in --pcrs= "
                                   "(the target TPM is not here to read them from)");
        r = pcr_values_load(a->pcr_values, &v);
        if (r == -EBADMSG || r == -ENODATA)
                return usage_error("invalid --pcr-values= '%s' (expected IDX=HEX,... with 64 hex digits each, "
                                   "or a file of such lines or {\"sha256\":{...}} JSON)", a->pcr_values);
        if (r < 0)
                return log_error_errno(r, "Failed to read --pcr-values file '%s': %m", a->pcr_values);
        for (unsigned i = 0; i <= PCR_INDEX_MAX; i++)
                if ((a->pcr_mask & (UINT32_C(1) << i)) && !(v.mask & (UINT32_C(1) << i)))
                        return usage_error("--pcr-values= has no value for PCR %u, which --pcrs= selects", i);
        if (v.mask & ~a->pcr_mask)
                log_warning("--pcr-values= gives PCRs that --pcrs= does not select; they are ignored.");
        r = pcr_values_select(&v, a->pcr_mask, values);
        if (r < 0)
                return log_error_errno(r, "Failed to select PCR values: %m");
        r = tpm2_policy_pcr_update(digest, a->pcr_mask, (const uint8_t (*)[TPM2_SHA256_SIZE]) values);
        if (r < 0)
                return log_error_errno(r, "Failed to compute the PCR policy: %m");
        memcpy(ret, digest, sizeof digest);
        return 0;
}

static int print_result(const EnrollArgs *a, int token, const Tpm2ImportToken *t) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ char *pcrs = NULL, *name = NULL, *ph = NULL;

        if (pcr_mask_to_string(a->pcr_mask, &pcrs) < 0 || hex_encode(t->srk_name.name, t->srk_name.size, &name) < 0 ||
            hex_encode(t->policy_hash, sizeof t->policy_hash, &ph) < 0)
                return log_oom();
        if (a->common.json == JSON_OFF) {
                printf("Sealed offline to SRK %s: token %i (cvm-tpm2-import, keyslot %i, PCRs %s) on %s.\n", name,
                       token, t->keyslot, *pcrs ? pcrs : "none", a->device);
                return 0;
        }
        o = json_object_new_object();
        if (!o)
                return log_oom();
        json_object_object_add(o, "device", json_object_new_string(a->device));
        json_object_object_add(o, "changed", json_object_new_boolean(true));
        json_object_object_add(o, "token", json_object_new_int(token));
        json_object_object_add(o, "keyslot", json_object_new_int(t->keyslot));
        json_object_object_add(o, "pcrs", json_object_new_string(pcrs));
        json_object_object_add(o, "policy_hash", json_object_new_string(ph));
        json_object_object_add(o, "srk_name", json_object_new_string(name));
        json_object_object_add(o, "srk_alg",
                               json_object_new_string(t->primary_alg == TPM2_ALG_ECC ? "ecc" : "rsa"));
        return json_print(o, a->common.json);
}

int verb_seal_offline(const EnrollArgs *a) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        _cleanup_(secret_freep) Secret *vk = NULL, *secret = NULL, *pw = NULL;
        _cleanup_free_ char *json = NULL;
        Tpm2ImportToken t = {};
        Tpm2Duplicate dup;
        TPM2B_PUBLIC srk;
        int token, r;

        if (!a->srk_pub)
                return usage_error("seal-offline needs --srk-pub=FILE (the target TPM's SRK public key)");
        if (a->unlock != UNLOCK_KEY_FILE && a->unlock != UNLOCK_KEYDATA)
                return usage_error("seal-offline needs --unlock-key-file=FILE or --unlock-keydata=FILE "
                                   "(there is no TPM here to unlock with)");
        r = load_srk(a->srk_pub, &srk);
        if (r < 0)
                return r;
        r = load_policy(a, t.policy_hash);
        if (r < 0)
                return r;
        r = tpm2_object_name(&srk.publicArea, &t.srk_name);
        if (r < 0)
                return log_error_errno(r, "Failed to compute the SRK's name: %m");

        r = luks_open(a->device, &cd);
        if (r < 0)
                return log_error_errno(r, "Failed to open LUKS2 volume '%s': %m", a->device);
        r = enroll_get_volume_key(cd, NULL, a->unlock, a->unlock_path, &vk);
        if (r < 0)
                return r;

        r = secret_new_random(TPM2_SEAL_SECRET_SIZE, &secret);
        if (r < 0)
                return log_error_errno(r, "Failed to make a secret: %m");
        r = tpm2_duplicate_seal(&srk.publicArea, t.policy_hash, secret, &dup);
        if (r < 0)
                return log_error_errno(r, "Failed to seal to the SRK: %m");
        r = secret_to_base64(secret, &pw);
        if (r < 0)
                return log_oom();

        t.pcr_mask = a->pcr_mask;
        t.primary_alg = srk.publicArea.type;
        t.public = dup.public;
        t.duplicate = dup.duplicate;
        t.seed = dup.seed;

        /* Slot first, then the token naming it: a crash in between leaves
         * an unused slot, never a token without its slot. */
        t.keyslot = luks_add_keyslot_fast(cd, vk, pw);
        if (t.keyslot < 0)
                return log_error_errno(t.keyslot, "Failed to add a keyslot to '%s': %m", a->device);
        test_hook("seal-offline:keyslot-added");

        r = tpm2_import_token_format(&t, &json);
        if (r < 0)
                return log_error_errno(r, "Failed to format the token: %m");
        token = crypt_token_json_set(cd, CRYPT_ANY_TOKEN, json);
        if (token < 0)
                return log_error_errno(token, "Failed to add the cvm-tpm2-import token for keyslot %i: %m",
                                       t.keyslot);
        test_hook("seal-offline:token-added");
        return print_result(a, token, &t);
}
