/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Load libcryptsetup, tpm2-tss, libcrypto, libfdisk, libblkid and libmount
 * only when a run needs them.
 *
 * At every boot but the first, cvm-growroot finds nothing to grow from
 * the mount's statx(), sysfs, the GPT headers, the dm table and the
 * filesystem, and never calls into these libraries; yet linked normally,
 * the dynamic loader maps and relocates them and their dependencies (18 of
 * 21 shared objects, OpenSSL the biggest, libmount with libselinux and
 * pcre2 next) before main(): under TCG that is most of a no-op run and
 * much of its peak RSS (bench/growroot: `cvm-growroot --version`; an
 * empty dynamically linked program costs 3x a static one there, each
 * library adds to it). At exec, only libc and json-c remain.
 *
 * So this file defines, under the libraries' own names and with their own
 * prototypes (the compiler checks each against the library's header), every
 * function cvm-growroot takes from them: a wrapper that loads the function's
 * library on first use and calls through a symbol table, one typed pointer
 * per function, that dlsym() filled when the library was loaded (all of a
 * library's functions at once: a missing one is found at the first use of
 * the library, not in the middle of a LUKS step). The linker satisfies the
 * code's references from here, and --as-needed (meson's default) leaves the
 * libraries out of DT_NEEDED; tests/unit/test-growroot-lazy.sh checks that
 * they stay out, that the sonames below are the ones the build links
 * against and that each library exports the functions listed for it. A
 * function used but missing from the list still works (the linker records
 * its library as needed again, loaded at exec): that test then fails and
 * names it.
 *
 * Plain C, no assembly: the wrappers are hidden (never exported, so a
 * loaded library's own calls never bind to them) and cvm-growroot is
 * single-threaded (it forks nothing and starts no thread), so the table is
 * filled without locking. */
#include <blkid/blkid.h>
#include <dlfcn.h>
#include <libcryptsetup.h>
#include <libfdisk/libfdisk.h>
#include <libmount/libmount.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>
#include <unistd.h>

#include "growroot.h"
#include "log.h"

enum {
        LIB_CRYPTSETUP,
        LIB_ESYS,
        LIB_MU,
        LIB_RC,
        LIB_TCTILDR,
        LIB_CRYPTO,
        LIB_FDISK,
        LIB_BLKID,
        LIB_MOUNT,
        _LIB_MAX,
};

/* The sonames must match those of the libraries meson links against
 * (tests/unit/test-growroot-lazy.sh compares). */
static const char *const sonames[_LIB_MAX] = {
        [LIB_CRYPTSETUP] = "libcryptsetup.so.12",
        [LIB_ESYS] = "libtss2-esys.so.0",
        [LIB_MU] = "libtss2-mu.so.0",
        [LIB_RC] = "libtss2-rc.so.0",
        [LIB_TCTILDR] = "libtss2-tctildr.so.0",
        [LIB_CRYPTO] = "libcrypto.so.3",
        [LIB_FDISK] = "libfdisk.so.1",
        [LIB_BLKID] = "libblkid.so.1",
        [LIB_MOUNT] = "libmount.so.1",
};

/* util-linux's libraries read LIBFDISK_DEBUG=, LIBBLKID_DEBUG= and
 * LIBMOUNT_DEBUG= in these (cvm-growroot(8), TROUBLESHOOTING): called when
 * a library that has one is loaded, found through the handle, so libblkid
 * is covered when libfdisk or libmount bring it. Calling one twice is
 * harmless. */
static const char *const init_debug[] = { "fdisk_init_debug", "blkid_init_debug", "mnt_init_debug" };

/* Every function taken from these libraries: LAZY(LIB, RETURN_TYPE, NAME,
 * (PARAMETERS), (ARGUMENTS)), or LAZY_VOID(LIB, NAME, (PARAMETERS),
 * (ARGUMENTS)) for those returning nothing. Expanded three times below:
 * the table's pointers, the table, the wrappers. */
#define LAZY_FUNCTIONS(LAZY, LAZY_VOID) \
        LAZY(CRYPTSETUP, int, crypt_activate_by_passphrase, (struct crypt_device *a0, const char *a1, \
                int a2, const char *a3, size_t a4, uint32_t a5), (a0, a1, a2, a3, a4, a5)) \
        LAZY_VOID(CRYPTSETUP, crypt_free, (struct crypt_device *a0), (a0)) \
        LAZY(CRYPTSETUP, int, crypt_get_active_device, (struct crypt_device *a0, const char *a1, \
                struct crypt_active_device *a2), (a0, a1, a2)) \
        LAZY(CRYPTSETUP, const char *, crypt_get_device_name, (struct crypt_device *a0), (a0)) \
        LAZY(CRYPTSETUP, int, crypt_get_sector_size, (struct crypt_device *a0), (a0)) \
        LAZY(CRYPTSETUP, const char *, crypt_get_type, (struct crypt_device *a0), (a0)) \
        LAZY(CRYPTSETUP, int, crypt_get_volume_key_size, (struct crypt_device *a0), (a0)) \
        LAZY(CRYPTSETUP, int, crypt_init, (struct crypt_device **a0, const char *a1), (a0, a1)) \
        LAZY(CRYPTSETUP, int, crypt_init_by_name, (struct crypt_device **a0, const char *a1), (a0, a1)) \
        LAZY(CRYPTSETUP, int, crypt_keyslot_add_by_volume_key, (struct crypt_device *a0, int a1, \
                const char *a2, size_t a3, const char *a4, size_t a5), (a0, a1, a2, a3, a4, a5)) \
        LAZY(CRYPTSETUP, int, crypt_keyslot_max, (const char *a0), (a0)) \
        LAZY(CRYPTSETUP, crypt_keyslot_info, crypt_keyslot_status, (struct crypt_device *a0, int a1), \
                (a0, a1)) \
        LAZY(CRYPTSETUP, int, crypt_load, (struct crypt_device *a0, const char *a1, void *a2), \
                (a0, a1, a2)) \
        LAZY(CRYPTSETUP, int, crypt_resize, (struct crypt_device *a0, const char *a1, uint64_t a2), \
                (a0, a1, a2)) \
        LAZY_VOID(CRYPTSETUP, crypt_set_log_callback, (struct crypt_device *a0, \
                void (*a1) (int, const char *, void *), void *a2), (a0, a1, a2)) \
        LAZY(CRYPTSETUP, int, crypt_set_pbkdf_type, (struct crypt_device *a0, \
                const struct crypt_pbkdf_type *a1), (a0, a1)) \
        LAZY_VOID(CRYPTSETUP, crypt_token_external_disable, (void), ()) \
        LAZY(CRYPTSETUP, int, crypt_token_json_get, (struct crypt_device *a0, int a1, const char **a2), \
                (a0, a1, a2)) \
        LAZY(CRYPTSETUP, int, crypt_token_json_set, (struct crypt_device *a0, int a1, const char *a2), \
                (a0, a1, a2)) \
        LAZY(CRYPTSETUP, int, crypt_token_max, (const char *a0), (a0)) \
        LAZY(CRYPTSETUP, crypt_token_info, crypt_token_status, (struct crypt_device *a0, int a1, \
                const char **a2), (a0, a1, a2)) \
        LAZY(CRYPTSETUP, int, crypt_volume_key_get, (struct crypt_device *a0, int a1, char *a2, \
                size_t *a3, const char *a4, size_t a5), (a0, a1, a2, a3, a4, a5)) \
        LAZY(ESYS, TSS2_RC, Esys_Create, (ESYS_CONTEXT *a0, ESYS_TR a1, ESYS_TR a2, ESYS_TR a3, \
                ESYS_TR a4, const TPM2B_SENSITIVE_CREATE *a5, const TPM2B_PUBLIC *a6, \
                const TPM2B_DATA *a7, const TPML_PCR_SELECTION *a8, TPM2B_PRIVATE **a9, \
                TPM2B_PUBLIC **a10, TPM2B_CREATION_DATA **a11, TPM2B_DIGEST **a12, \
                TPMT_TK_CREATION **a13), (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13)) \
        LAZY(ESYS, TSS2_RC, Esys_CreatePrimary, (ESYS_CONTEXT *a0, ESYS_TR a1, ESYS_TR a2, ESYS_TR a3, \
                ESYS_TR a4, const TPM2B_SENSITIVE_CREATE *a5, const TPM2B_PUBLIC *a6, \
                const TPM2B_DATA *a7, const TPML_PCR_SELECTION *a8, ESYS_TR *a9, TPM2B_PUBLIC **a10, \
                TPM2B_CREATION_DATA **a11, TPM2B_DIGEST **a12, TPMT_TK_CREATION **a13), \
                (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13)) \
        LAZY_VOID(ESYS, Esys_Finalize, (ESYS_CONTEXT **a0), (a0)) \
        LAZY(ESYS, TSS2_RC, Esys_FlushContext, (ESYS_CONTEXT *a0, ESYS_TR a1), (a0, a1)) \
        LAZY_VOID(ESYS, Esys_Free, (void *a0), (a0)) \
        LAZY(ESYS, TSS2_RC, Esys_Initialize, (ESYS_CONTEXT **a0, TSS2_TCTI_CONTEXT *a1, \
                TSS2_ABI_VERSION *a2), (a0, a1, a2)) \
        LAZY(ESYS, TSS2_RC, Esys_Load, (ESYS_CONTEXT *a0, ESYS_TR a1, ESYS_TR a2, ESYS_TR a3, \
                ESYS_TR a4, const TPM2B_PRIVATE *a5, const TPM2B_PUBLIC *a6, ESYS_TR *a7), \
                (a0, a1, a2, a3, a4, a5, a6, a7)) \
        LAZY(ESYS, TSS2_RC, Esys_PCR_Read, (ESYS_CONTEXT *a0, ESYS_TR a1, ESYS_TR a2, ESYS_TR a3, \
                const TPML_PCR_SELECTION *a4, UINT32 *a5, TPML_PCR_SELECTION **a6, TPML_DIGEST **a7), \
                (a0, a1, a2, a3, a4, a5, a6, a7)) \
        LAZY(ESYS, TSS2_RC, Esys_PolicyPCR, (ESYS_CONTEXT *a0, ESYS_TR a1, ESYS_TR a2, ESYS_TR a3, \
                ESYS_TR a4, const TPM2B_DIGEST *a5, const TPML_PCR_SELECTION *a6), \
                (a0, a1, a2, a3, a4, a5, a6)) \
        LAZY(ESYS, TSS2_RC, Esys_StartAuthSession, (ESYS_CONTEXT *a0, ESYS_TR a1, ESYS_TR a2, \
                ESYS_TR a3, ESYS_TR a4, ESYS_TR a5, const TPM2B_NONCE *a6, TPM2_SE a7, \
                const TPMT_SYM_DEF *a8, TPMI_ALG_HASH a9, ESYS_TR *a10), \
                (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10)) \
        LAZY(ESYS, TSS2_RC, Esys_Startup, (ESYS_CONTEXT *a0, TPM2_SU a1), (a0, a1)) \
        LAZY(ESYS, TSS2_RC, Esys_TRSess_SetAttributes, (ESYS_CONTEXT *a0, ESYS_TR a1, TPMA_SESSION a2, \
                TPMA_SESSION a3), (a0, a1, a2, a3)) \
        LAZY(ESYS, TSS2_RC, Esys_TR_Deserialize, (ESYS_CONTEXT *a0, const uint8_t *a1, size_t a2, \
                ESYS_TR *a3), (a0, a1, a2, a3)) \
        LAZY(ESYS, TSS2_RC, Esys_Unseal, (ESYS_CONTEXT *a0, ESYS_TR a1, ESYS_TR a2, ESYS_TR a3, \
                ESYS_TR a4, TPM2B_SENSITIVE_DATA **a5), (a0, a1, a2, a3, a4, a5)) \
        LAZY(ESYS, TSS2_RC, Esys_TR_GetTpmHandle, (ESYS_CONTEXT *a0, ESYS_TR a1, TPM2_HANDLE *a2), \
                (a0, a1, a2)) \
        LAZY(MU, TSS2_RC, Tss2_MU_TPM2B_PRIVATE_Marshal, (const TPM2B_PRIVATE *a0, uint8_t *a1, \
                size_t a2, size_t *a3), (a0, a1, a2, a3)) \
        LAZY(MU, TSS2_RC, Tss2_MU_TPM2B_PRIVATE_Unmarshal, (const uint8_t *a0, size_t a1, size_t *a2, \
                TPM2B_PRIVATE *a3), (a0, a1, a2, a3)) \
        LAZY(MU, TSS2_RC, Tss2_MU_TPM2B_PUBLIC_Marshal, (const TPM2B_PUBLIC *a0, uint8_t *a1, \
                size_t a2, size_t *a3), (a0, a1, a2, a3)) \
        LAZY(MU, TSS2_RC, Tss2_MU_TPM2B_PUBLIC_Unmarshal, (const uint8_t *a0, size_t a1, size_t *a2, \
                TPM2B_PUBLIC *a3), (a0, a1, a2, a3)) \
        LAZY(MU, TSS2_RC, Tss2_MU_TPM2_CC_Marshal, (TPM2_CC a0, uint8_t *a1, size_t a2, size_t *a3), \
                (a0, a1, a2, a3)) \
        LAZY(MU, TSS2_RC, Tss2_MU_TPML_PCR_SELECTION_Marshal, (const TPML_PCR_SELECTION *a0, \
                uint8_t *a1, size_t a2, size_t *a3), (a0, a1, a2, a3)) \
        LAZY(RC, const char *, Tss2_RC_Decode, (TSS2_RC a0), (a0)) \
        LAZY_VOID(TCTILDR, Tss2_TctiLdr_Finalize, (TSS2_TCTI_CONTEXT **a0), (a0)) \
        LAZY(TCTILDR, TSS2_RC, Tss2_TctiLdr_Initialize, (const char *a0, TSS2_TCTI_CONTEXT **a1), (a0, a1)) \
        LAZY(CRYPTO, int, EVP_DecodeFinal, (EVP_ENCODE_CTX *a0, unsigned char *a1, int *a2), (a0, a1, a2)) \
        LAZY_VOID(CRYPTO, EVP_DecodeInit, (EVP_ENCODE_CTX *a0), (a0)) \
        LAZY(CRYPTO, int, EVP_DecodeUpdate, (EVP_ENCODE_CTX *a0, unsigned char *a1, int *a2, \
                const unsigned char *a3, int a4), (a0, a1, a2, a3, a4)) \
        LAZY(CRYPTO, int, EVP_DigestFinal_ex, (EVP_MD_CTX *a0, unsigned char *a1, unsigned int *a2), \
                (a0, a1, a2)) \
        LAZY(CRYPTO, int, EVP_DigestInit_ex, (EVP_MD_CTX *a0, const EVP_MD *a1, ENGINE *a2), (a0, a1, a2)) \
        LAZY(CRYPTO, int, EVP_DigestUpdate, (EVP_MD_CTX *a0, const void *a1, size_t a2), (a0, a1, a2)) \
        LAZY_VOID(CRYPTO, EVP_ENCODE_CTX_free, (EVP_ENCODE_CTX *a0), (a0)) \
        LAZY(CRYPTO, EVP_ENCODE_CTX *, EVP_ENCODE_CTX_new, (void), ()) \
        LAZY(CRYPTO, int, EVP_EncodeBlock, (unsigned char *a0, const unsigned char *a1, int a2), \
                (a0, a1, a2)) \
        LAZY_VOID(CRYPTO, EVP_MD_CTX_free, (EVP_MD_CTX *a0), (a0)) \
        LAZY(CRYPTO, EVP_MD_CTX *, EVP_MD_CTX_new, (void), ()) \
        LAZY(CRYPTO, const EVP_MD *, EVP_sha256, (void), ()) \
        LAZY(CRYPTO, int, OPENSSL_buf2hexstr_ex, (char *a0, size_t a1, size_t *a2, \
                const unsigned char *a3, size_t a4, const char a5), (a0, a1, a2, a3, a4, a5)) \
        LAZY(CRYPTO, int, OPENSSL_hexstr2buf_ex, (unsigned char *a0, size_t a1, size_t *a2, \
                const char *a3, const char a4), (a0, a1, a2, a3, a4)) \
        LAZY(CRYPTO, int, RAND_priv_bytes, (unsigned char *a0, int a1), (a0, a1)) \
        LAZY(BLKID, char *, blkid_evaluate_spec, (const char *a0, blkid_cache *a1), (a0, a1)) \
        LAZY(FDISK, int, fdisk_ask_get_type, (struct fdisk_ask *a0), (a0)) \
        LAZY(FDISK, const char *, fdisk_ask_print_get_mesg, (struct fdisk_ask *a0), (a0)) \
        LAZY(FDISK, int, fdisk_assign_device_by_fd, (struct fdisk_context *a0, int a1, const char *a2, \
                int a3), (a0, a1, a2, a3)) \
        LAZY(FDISK, int, fdisk_disable_dialogs, (struct fdisk_context *a0, int a1), (a0, a1)) \
        LAZY_VOID(FDISK, fdisk_free_iter, (struct fdisk_iter *a0), (a0)) \
        LAZY(FDISK, const char *, fdisk_get_devname, (struct fdisk_context *a0), (a0)) \
        LAZY(FDISK, long unsigned int, fdisk_get_grain_size, (struct fdisk_context *a0), (a0)) \
        LAZY(FDISK, struct fdisk_label *, fdisk_get_label, (struct fdisk_context *a0, const char *a1), \
                (a0, a1)) \
        LAZY(FDISK, fdisk_sector_t, fdisk_get_nsectors, (struct fdisk_context *a0), (a0)) \
        LAZY(FDISK, int, fdisk_get_partition, (struct fdisk_context *a0, size_t a1, \
                struct fdisk_partition **a2), (a0, a1, a2)) \
        LAZY(FDISK, int, fdisk_get_partitions, (struct fdisk_context *a0, struct fdisk_table **a1), \
                (a0, a1)) \
        LAZY(FDISK, long unsigned int, fdisk_get_sector_size, (struct fdisk_context *a0), (a0)) \
        LAZY(FDISK, int, fdisk_has_label, (struct fdisk_context *a0), (a0)) \
        LAZY(FDISK, int, fdisk_is_labeltype, (struct fdisk_context *a0, enum fdisk_labeltype a1), (a0, a1)) \
        LAZY(FDISK, const char *, fdisk_label_get_name, (const struct fdisk_label *a0), (a0)) \
        LAZY(FDISK, struct fdisk_context *, fdisk_new_context, (void), ()) \
        LAZY(FDISK, struct fdisk_iter *, fdisk_new_iter, (int a0), (a0)) \
        LAZY(FDISK, struct fdisk_partition *, fdisk_new_partition, (void), ()) \
        LAZY(FDISK, fdisk_sector_t, fdisk_partition_get_end, (struct fdisk_partition *a0), (a0)) \
        LAZY(FDISK, size_t, fdisk_partition_get_partno, (struct fdisk_partition *a0), (a0)) \
        LAZY(FDISK, fdisk_sector_t, fdisk_partition_get_start, (struct fdisk_partition *a0), (a0)) \
        LAZY(FDISK, int, fdisk_partition_has_start, (struct fdisk_partition *a0), (a0)) \
        LAZY(FDISK, int, fdisk_partition_is_used, (struct fdisk_partition *a0), (a0)) \
        LAZY(FDISK, int, fdisk_partition_set_size, (struct fdisk_partition *a0, uint64_t a1), (a0, a1)) \
        LAZY(FDISK, int, fdisk_set_ask, (struct fdisk_context *a0, \
                int (*a1) (struct fdisk_context *, struct fdisk_ask *, void *), void *a2), (a0, a1, a2)) \
        LAZY(FDISK, int, fdisk_set_partition, (struct fdisk_context *a0, size_t a1, \
                struct fdisk_partition *a2), (a0, a1, a2)) \
        LAZY(FDISK, int, fdisk_table_next_partition, (struct fdisk_table *a0, struct fdisk_iter *a1, \
                struct fdisk_partition **a2), (a0, a1, a2)) \
        LAZY_VOID(FDISK, fdisk_unref_context, (struct fdisk_context *a0), (a0)) \
        LAZY_VOID(FDISK, fdisk_unref_partition, (struct fdisk_partition *a0), (a0)) \
        LAZY_VOID(FDISK, fdisk_unref_table, (struct fdisk_table *a0), (a0)) \
        LAZY(FDISK, int, fdisk_write_disklabel, (struct fdisk_context *a0), (a0)) \
        LAZY(MOUNT, dev_t, mnt_fs_get_devno, (struct libmnt_fs *a0), (a0)) \
        LAZY(MOUNT, const char *, mnt_fs_get_fstype, (struct libmnt_fs *a0), (a0)) \
        LAZY(MOUNT, const char *, mnt_fs_get_srcpath, (struct libmnt_fs *a0), (a0)) \
        LAZY(MOUNT, const char *, mnt_fs_get_target, (struct libmnt_fs *a0), (a0)) \
        LAZY(MOUNT, struct libmnt_table *, mnt_new_table_from_file, (const char *a0), (a0)) \
        LAZY(MOUNT, struct libmnt_fs *, mnt_table_find_target, (struct libmnt_table *a0, \
                const char *a1, int a2), (a0, a1, a2)) \
        LAZY_VOID(MOUNT, mnt_unref_table, (struct libmnt_table *a0), (a0))

#define SYM_POINTER(lib, ret, name, params, args) static typeof(name) *sym_##name;
#define SYM_POINTER_VOID(lib, name, params, args) static typeof(name) *sym_##name;
LAZY_FUNCTIONS(SYM_POINTER, SYM_POINTER_VOID)

typedef struct LazySymbol {
        unsigned lib;
        const char *name;
        void **ptr;
} LazySymbol;

#define SYM_ENTRY(lib, ret, name, params, args) { LIB_##lib, #name, (void **) &sym_##name },
#define SYM_ENTRY_VOID(lib, name, params, args) { LIB_##lib, #name, (void **) &sym_##name },
static const LazySymbol symbols[] = { LAZY_FUNCTIONS(SYM_ENTRY, SYM_ENTRY_VOID) };

static void *handles[_LIB_MAX];

/* Load @lib and fill in all of its table entries. Never returns without
 * them: a run that cannot load a library it needs cannot continue. */
static void lazy_load(unsigned lib) {
        void *handle;

        if (handles[lib])
                return;
        handle = dlopen(sonames[lib], RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
                log_error("Cannot load %s: %s", sonames[lib], dlerror());
                _exit(EXIT_FAILURE);
        }
        for (size_t i = 0; i < ELEMENTSOF(symbols); i++) {
                if (symbols[i].lib != lib)
                        continue;
                *symbols[i].ptr = dlsym(handle, symbols[i].name);
                if (!*symbols[i].ptr) {
                        log_error("%s has no %s: %s", sonames[lib], symbols[i].name, dlerror());
                        _exit(EXIT_FAILURE);
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(init_debug); i++) {
                void (*f)(int) = (void (*)(int)) dlsym(handle, init_debug[i]);
                if (f)
                        f(0);
        }
        log_debug("Loaded %s on first use.", sonames[lib]);
        handles[lib] = handle;
}

void growroot_unload_partition_libs(void) {
        /* The partition step is the only user of libfdisk: unmapping it
         * (and libblkid, libuuid with it, unless libcryptsetup holds them)
         * keeps its pages out of the LUKS step's peak RSS. A later call
         * loads it again. */
        if (!handles[LIB_FDISK])
                return;
        for (size_t i = 0; i < ELEMENTSOF(symbols); i++)
                if (symbols[i].lib == LIB_FDISK)
                        *symbols[i].ptr = NULL;
        (void) dlclose(handles[LIB_FDISK]);
        handles[LIB_FDISK] = NULL;
        log_debug("Unloaded %s.", sonames[LIB_FDISK]);
}

#define WRAPPER(lib, ret, name, params, args)                              \
        __attribute__((visibility("hidden"))) ret name params {          \
                lazy_load(LIB_##lib);                                      \
                return sym_##name args;                                    \
        }
#define WRAPPER_VOID(lib, name, params, args)                              \
        __attribute__((visibility("hidden"))) void name params {         \
                lazy_load(LIB_##lib);                                      \
                sym_##name args;                                           \
        }
LAZY_FUNCTIONS(WRAPPER, WRAPPER_VOID)
