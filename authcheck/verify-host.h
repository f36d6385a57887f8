/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>

#include "evidence-verify.h"
#include "evidence.h"
#include "hostkey-binding.h"
#include "options.h"

#define FRESH_HOST_KEY_ALIAS "cvm-verify-host-fresh"
#define REMOTE_COMMAND_DEFAULT "cvm-authcheck"

typedef struct HostSpec {
        char *host;   /* name or address, without brackets */
        unsigned port;
} HostSpec;

typedef struct VerifyArgs {
        CommonArgs common;
        const char *evidence;         /* FILE or "-" */
        const char *console_log;      /* FILE or "-" */
        const char *host_key_file;
        const char *host;             /* HOST[:PORT] as given */
        const char *ak_pub;
        const char *ca;
        const char *expect_pcrs;
        const char *nonce;            /* HEX: evidence must carry it */
        bool fresh;
        const char *remote_command;
        const char **ssh_options;     /* -o values for ssh, NULL-terminated */
        size_t n_ssh_options;
        bool no_cache;
} VerifyArgs;

/* verify-host-input.c */
int host_spec_parse(const char *s, HostSpec *ret);
void host_spec_done(HostSpec *h);
/* "HOST" for port 22, "[HOST]:PORT" otherwise: how known_hosts names it. */
int host_spec_known_hosts_name(const HostSpec *h, char **ret);

/* Keys in ssh-keyscan, known_hosts or .pub format, one per line. */
int offered_keys_parse(const char *text, HostKey **ret, size_t *ret_n);
int expected_pcrs_load(const char *spec, VerifyPolicy *p);
typedef struct TrustAnchors {
        EVP_PKEY *pkey;
        TPMT_PUBLIC public;
        bool have_public;
        STACK_OF(X509) *ca;
} TrustAnchors;
/* Read --ak-pub and --ca and parse them into @t (unless NULL: a cache lookup
 * needs no parsing). @ret_material (if not NULL) gets what the user trusts,
 * verbatim: both files and --expect-pcrs (the value or the file's contents),
 * so a cached verdict can be tied to exactly that. */
int trust_load(const VerifyArgs *a, TrustAnchors *t, char **ret_material, size_t *ret_size);
void trust_done(TrustAnchors *t);

/* The evidence text from --evidence or --console-log, and where it was found. */
int evidence_text_load(const VerifyArgs *a, char **ret, size_t *ret_size, char **ret_source);

/* verify-host-ssh.c */
int keyscan(const HostSpec *h, HostKey **ret, size_t *ret_n);
int fresh_quote(const VerifyArgs *a, const HostSpec *h, const HostKey *keys, size_t n_keys, const uint8_t *nonce,
                size_t nonce_size, char **ret, size_t *ret_size);

/* verify-host-cache.c: KnownHostsCommand verdicts. @line is the known_hosts
 * line (host and key), @trust the material from trust_load(). */
int cache_lookup(const char *line, const char *trust, size_t trust_size);
int cache_store(const char *line, const char *trust, size_t trust_size);

/* Render "TYPE BASE64" / fingerprints. */
int hostkey_format(const HostKey *k, char **ret);
int hostkey_fingerprint(const HostKey *k, char **ret);
