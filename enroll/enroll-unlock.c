/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Getting the volume key with an existing key, for adding a new slot. */
#include "enroll-unlock.h"
#include "enroll.h"
#include "file-util.h"
#include "keydata.h"
#include "log.h"
#include "luks-tpm2.h"
#include "luks-util.h"

#define KEY_FILE_MAX (8U * 1024U * 1024U) /* cryptsetup's default key file limit */

typedef struct FindTpm2 {
        Tpm2Context *tpm;
        Secret *passphrase;
        int keyslot;
} FindTpm2;

static int find_tpm2_cb(struct crypt_device *cd, int token_id, const Tpm2Token *t, int parse_error, void *userdata) {
        FindTpm2 *f = userdata;
        int r;

        if (parse_error < 0 || f->passphrase)
                return 0;
        r = luks_tpm2_unlock(cd, f->tpm, t, 0, &f->passphrase);
        if (r < 0) {
                log_debug_errno(r, "TPM2 token %i does not open the volume now: %m", token_id);
                return 0;
        }
        f->keyslot = t->keyslot;
        return 0;
}

static int unlock_tpm2(struct crypt_device *cd, Tpm2Context *tpm, Secret **ret_pw, int *ret_slot) {
        FindTpm2 f = { .tpm = tpm, .keyslot = -1 };
        int r;

        r = luks_tpm2_foreach_token(cd, find_tpm2_cb, &f);
        if (r < 0)
                return r;
        if (!f.passphrase)
                return -ENOKEY;
        *ret_pw = f.passphrase;
        *ret_slot = f.keyslot;
        return 0;
}

int enroll_get_volume_key(struct crypt_device *cd, Tpm2Context *tpm, UnlockMethod method, const char *path,
                          Secret **ret_vk) {
        _cleanup_(secret_freep) Secret *pw = NULL;
        int slot = CRYPT_ANY_SLOT, r;

        switch (method) {
        case UNLOCK_AUTO:
        case UNLOCK_TPM2:
                r = unlock_tpm2(cd, tpm, &pw, &slot);
                if (r != -ENOKEY || method == UNLOCK_TPM2)
                        break;
                path = KEYDATA_PATH_DEFAULT;
                _fallthrough_;
        case UNLOCK_KEYDATA:
                r = keydata_read(path, &pw, &slot);
                if (r == -ENOENT && method == UNLOCK_AUTO)
                        r = -ENOKEY;
                break;
        case UNLOCK_KEY_FILE:
                /* A user-supplied passphrase may be in any slot: this is the
                 * one case where trying every slot is what the user asked. */
                r = secret_read_file(path, KEY_FILE_MAX, &pw);
                break;
        default:
                assert_not_reached();
        }
        if (r == -ENOKEY)
                return log_error_errno(r, "No existing key opens the volume: no TPM2 token unseals here and there is "
                                          "no %s. Use --unlock-key-file=FILE.", KEYDATA_PATH_DEFAULT);
        if (r < 0)
                return log_error_errno(r, "Failed to read the unlock key%s%s: %m", path ? " from " : "",
                                       strempty(path));

        r = luks_volume_key_get(cd, slot, pw, ret_vk);
        if (r < 0)
                return log_error_errno(r, "The unlock key does not open %s: %m",
                                       slot == CRYPT_ANY_SLOT ? "any keyslot" : "its keyslot");
        log_debug("Unlocked with keyslot %i.", r);
        return r;
}

int enroll_open(const EnrollArgs *a, const char *refusal, struct crypt_device **ret_cd, Tpm2Context **ret_tpm) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        _cleanup_free_ char *why = NULL;
        int r;

        r = luks_open(a->device, &cd);
        if (r < 0)
                return log_error_errno(r, "Failed to open LUKS2 volume '%s': %m", a->device);
        r = tpm2_context_new(a->common.tpm2_device, ret_tpm);
        if (r < 0)
                return log_error_errno(r, "%s%s.", tpm2_open_error_text(r, a->common.tpm2_device, &why), refusal);
        *ret_cd = TAKE_PTR(cd);
        return 0;
}

int enroll_refuse_read_only(const EnrollArgs *a, const char *what) {
        int r;

        r = path_is_read_only(a->device);
        if (r < 0)
                return log_error_errno(r, "Failed to check whether '%s' is writable: %m", a->device);
        if (r > 0)
                return log_error_errno(SYNTHETIC_ERRNO(EROFS), "'%s' is read-only; cannot %s.", a->device, what);
        return 0;
}
