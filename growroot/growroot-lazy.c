/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Load libcryptsetup, tpm2-tss and libcrypto only when a run needs them.
 *
 * At every boot but the first, cvm-growroot finds nothing to grow from
 * sysfs, the GPT headers, the dm table and the filesystem, and never calls
 * into these libraries; yet linked normally, the dynamic loader maps and
 * relocates them and their dependencies (12 of 21 shared objects, OpenSSL
 * the biggest) before main(): under TCG that is most of a no-op run and
 * much of its peak RSS (bench/growroot: `cvm-growroot --version`).
 *
 * So each function cvm-growroot uses from them is defined here as a small
 * trampoline (what Implib.so generates): the first call dlopen()s the
 * library by soname, looks the symbol up and stores its address; every
 * call jumps there with the caller's argument registers untouched. The
 * linker then satisfies these references from this file, and --as-needed
 * (meson's default) leaves the libraries out of DT_NEEDED;
 * tests/unit/test-growroot-lazy.sh checks that they stay out and that the
 * sonames below are the ones the build links against. A symbol missing
 * from the lists still works (the linker records the library as needed
 * again, loaded at exec): that test then fails and names it.
 *
 * x86-64 only (the trampoline is assembly; growroot/meson.build links the
 * libraries normally elsewhere). None of these functions takes floating
 * point or vector arguments, so only the integer argument registers (and
 * %al, for variadic calls) are saved around the resolver. Works with
 * -z now: the trampolines are this executable's own hidden symbols. */
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"

enum {
        LAZY_CRYPTSETUP,
        LAZY_ESYS,
        LAZY_MU,
        LAZY_RC,
        LAZY_TCTILDR,
        LAZY_CRYPTO,
        _LAZY_MAX,
};

/* Must match the sonames of the libraries meson links cvm-enroll against
 * (tests/unit/test-growroot-lazy.sh compares). */
static const char *const sonames[_LAZY_MAX] = {
        [LAZY_CRYPTSETUP] = "libcryptsetup.so.12",
        [LAZY_ESYS] = "libtss2-esys.so.0",
        [LAZY_MU] = "libtss2-mu.so.0",
        [LAZY_RC] = "libtss2-rc.so.0",
        [LAZY_TCTILDR] = "libtss2-tctildr.so.0",
        [LAZY_CRYPTO] = "libcrypto.so.3",
};
static void *handles[_LAZY_MAX];

/* Called by a trampoline on its first use: never returns without the
 * address (a run that cannot load a library it needs cannot continue). */
void *lazy_resolve(const char *name, unsigned lib, void **slot);
__attribute__((visibility("hidden"), used)) void *lazy_resolve(const char *name, unsigned lib, void **slot) {
        void *p;

        if (lib >= _LAZY_MAX)
                abort();
        if (!handles[lib]) {
                handles[lib] = dlopen(sonames[lib], RTLD_NOW | RTLD_LOCAL);
                if (!handles[lib]) {
                        log_error("Cannot load %s (for %s): %s", sonames[lib], name, dlerror());
                        _exit(EXIT_FAILURE);
                }
                log_debug("Loaded %s (first use: %s).", sonames[lib], name);
        }
        p = dlsym(handles[lib], name);
        if (!p) {
                log_error("%s has no %s: %s", sonames[lib], name, dlerror());
                _exit(EXIT_FAILURE);
        }
        __atomic_store_n(slot, p, __ATOMIC_RELEASE);
        return p;
}

#ifdef __CET__
#define LAZY_ENDBR "  endbr64\n"
#else
#define LAZY_ENDBR ""
#endif

/* The library index is spelled as a number: it is pasted into the
 * assembly text. */
#define LAZY_STUB(lib, sym)                                                                          \
        __attribute__((visibility("hidden"), used)) void *lazy_slot_##sym;                           \
        __attribute__((visibility("hidden"), used)) const char lazy_name_##sym[] = #sym;             \
        __asm__(".pushsection .text\n"                                                               \
                ".globl " #sym "\n"                                                                  \
                ".hidden " #sym "\n"                                                                 \
                ".type " #sym ", @function\n"                                                        \
                ".p2align 4\n" #sym ":\n" LAZY_ENDBR                                                 \
                "  movq lazy_slot_" #sym "(%rip), %r11\n"                                            \
                "  testq %r11, %r11\n"                                                               \
                "  jz 1f\n"                                                                          \
                "  jmp *%r11\n"                                                                      \
                /* Entry: %rsp = 8 mod 16; seven pushes align it for the call. */                    \
                "1: pushq %rdi\n  pushq %rsi\n  pushq %rdx\n  pushq %rcx\n  pushq %r8\n  pushq %r9\n"  \
                "  pushq %rax\n"                                                                     \
                "  leaq lazy_name_" #sym "(%rip), %rdi\n"                                            \
                "  movl $" #lib ", %esi\n"                                                           \
                "  leaq lazy_slot_" #sym "(%rip), %rdx\n"                                            \
                "  call lazy_resolve\n"                                                              \
                "  movq %rax, %r11\n"                                                                \
                "  popq %rax\n  popq %r9\n  popq %r8\n  popq %rcx\n  popq %rdx\n  popq %rsi\n"        \
                "  popq %rdi\n"                                                                      \
                "  jmp *%r11\n"                                                                      \
                ".size " #sym ", .-" #sym "\n"                                                       \
                ".popsection\n");

/* 0: libcryptsetup */
LAZY_STUB(0, crypt_activate_by_passphrase)
LAZY_STUB(0, crypt_free)
LAZY_STUB(0, crypt_get_active_device)
LAZY_STUB(0, crypt_get_device_name)
LAZY_STUB(0, crypt_get_sector_size)
LAZY_STUB(0, crypt_get_type)
LAZY_STUB(0, crypt_get_volume_key_size)
LAZY_STUB(0, crypt_init)
LAZY_STUB(0, crypt_init_by_name)
LAZY_STUB(0, crypt_keyslot_add_by_volume_key)
LAZY_STUB(0, crypt_keyslot_max)
LAZY_STUB(0, crypt_keyslot_status)
LAZY_STUB(0, crypt_load)
LAZY_STUB(0, crypt_resize)
LAZY_STUB(0, crypt_set_log_callback)
LAZY_STUB(0, crypt_set_pbkdf_type)
LAZY_STUB(0, crypt_token_external_disable)
LAZY_STUB(0, crypt_token_json_get)
LAZY_STUB(0, crypt_token_json_set)
LAZY_STUB(0, crypt_token_max)
LAZY_STUB(0, crypt_token_status)
LAZY_STUB(0, crypt_volume_key_get)

/* 1: libtss2-esys */
LAZY_STUB(1, Esys_Create)
LAZY_STUB(1, Esys_CreatePrimary)
LAZY_STUB(1, Esys_Finalize)
LAZY_STUB(1, Esys_FlushContext)
LAZY_STUB(1, Esys_Free)
LAZY_STUB(1, Esys_Initialize)
LAZY_STUB(1, Esys_Load)
LAZY_STUB(1, Esys_PCR_Read)
LAZY_STUB(1, Esys_PolicyGetDigest)
LAZY_STUB(1, Esys_PolicyPCR)
LAZY_STUB(1, Esys_StartAuthSession)
LAZY_STUB(1, Esys_Startup)
LAZY_STUB(1, Esys_TRSess_SetAttributes)
LAZY_STUB(1, Esys_TR_Deserialize)
LAZY_STUB(1, Esys_Unseal)
LAZY_STUB(1, Esys_TR_FromTPMPublic)
LAZY_STUB(1, Esys_ReadPublic)
LAZY_STUB(1, Esys_TR_Close)
LAZY_STUB(1, Esys_GetCapability)
LAZY_STUB(1, Esys_TR_GetTpmHandle)

/* 2: libtss2-mu */
LAZY_STUB(2, Tss2_MU_TPM2B_PRIVATE_Marshal)
LAZY_STUB(2, Tss2_MU_TPM2B_PRIVATE_Unmarshal)
LAZY_STUB(2, Tss2_MU_TPM2B_PUBLIC_Marshal)
LAZY_STUB(2, Tss2_MU_TPM2B_PUBLIC_Unmarshal)
LAZY_STUB(2, Tss2_MU_TPM2_CC_Marshal)
LAZY_STUB(2, Tss2_MU_TPML_PCR_SELECTION_Marshal)

/* 3: libtss2-rc */
LAZY_STUB(3, Tss2_RC_Decode)

/* 4: libtss2-tctildr */
LAZY_STUB(4, Tss2_TctiLdr_Finalize)
LAZY_STUB(4, Tss2_TctiLdr_Initialize)

/* 5: libcrypto */
LAZY_STUB(5, EVP_DecodeFinal)
LAZY_STUB(5, EVP_DecodeInit)
LAZY_STUB(5, EVP_DecodeUpdate)
LAZY_STUB(5, EVP_DigestFinal_ex)
LAZY_STUB(5, EVP_DigestInit_ex)
LAZY_STUB(5, EVP_DigestUpdate)
LAZY_STUB(5, EVP_ENCODE_CTX_free)
LAZY_STUB(5, EVP_ENCODE_CTX_new)
LAZY_STUB(5, EVP_EncodeBlock)
LAZY_STUB(5, EVP_MD_CTX_free)
LAZY_STUB(5, EVP_MD_CTX_new)
LAZY_STUB(5, EVP_sha256)
LAZY_STUB(5, OPENSSL_buf2hexstr_ex)
LAZY_STUB(5, OPENSSL_hexstr2buf_ex)
LAZY_STUB(5, RAND_priv_bytes)
