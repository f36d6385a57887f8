/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which host keys to publish. Evidence must never name a key sshd will not
 * present, or a stale key an attacker might hold, so a key is published
 * only when all of this holds (docs/EVIDENCE.md, "Which keys"):
 *
 *  - sshd is configured to use its private key: the "hostkey" lines of
 *    `sshd -T` (its effective configuration, HostKey directives and
 *    defaults included), or with --host-keys-dir every ssh_host_*_key.pub
 *    there that has its private key beside it;
 *  - the private key is a regular file that sshd accepts: not readable or
 *    writable by group or others when owned by us (sshd refuses such a key
 *    with "UNPROTECTED PRIVATE KEY FILE");
 *  - for OpenSSH-format private keys (what ssh-keygen writes), the public
 *    key stored in the private key file is the one in the .pub file, so a
 *    stale or substituted .pub is never attested. PEM private keys are
 *    accepted without that comparison (logged).
 *
 * The private key is read into locked memory and wiped; only its public
 * half is looked at. */
#include <dirent.h>
#include <fnmatch.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <sys/stat.h>

#include "authcheck.h"
#include "file-util.h"
#include "log.h"
#include "secret.h"
#include "spawn-util.h"

#define PRIVATE_KEY_MAX (64U * 1024U)
#define PUB_FILE_MAX (64U * 1024U)
#define SSHD_T_MAX (256U * 1024U)
#define OPENSSH_MAGIC "openssh-key-v1" /* followed by a NUL */
#define OPENSSH_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define OPENSSH_END "-----END OPENSSH PRIVATE KEY-----"

static uint32_t be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* Skip one SSH string at *off; return its bounds. */
static int ssh_string(const uint8_t *b, size_t n, size_t *off, const uint8_t **ret, size_t *ret_len) {
        uint32_t l;

        if (n - *off < 4)
                return -EBADMSG;
        l = be32(b + *off);
        *off += 4;
        if (l > n - *off)
                return -EBADMSG;
        *ret = b + *off;
        *ret_len = l;
        *off += l;
        return 0;
}

/* The first public key stored in an "openssh-key-v1" private key: returns
 * 1 and compares it with @blob (-EKEYREJECTED if different), 0 if the file
 * is in another format. */
static int private_key_matches(const Secret *key, const HostKey *pub) {
        _cleanup_(secret_freep) Secret *b64 = NULL, *raw = NULL;
        const char *text = (const char *) key->data, *begin, *end;
        const uint8_t *field;
        size_t off, field_len, n = 0;
        int r, k;

        begin = memmem(text, key->size, OPENSSH_BEGIN, strlen(OPENSSH_BEGIN));
        if (!begin)
                return 0;
        begin += strlen(OPENSSH_BEGIN);
        end = memmem(begin, key->size - (size_t) (begin - text), OPENSSH_END, strlen(OPENSSH_END));
        if (!end)
                return -EBADMSG;

        /* Decode into locked memory: the rest of the blob is the private key. */
        r = secret_new((size_t) (end - begin), &b64);
        if (r < 0)
                return r;
        for (const char *p = begin; p < end; p++)
                if (!strchr(" \t\r\n", *p))
                        b64->data[n++] = (uint8_t) *p;
        if (n == 0 || n % 4 != 0)
                return -EBADMSG;
        r = secret_new(n / 4 * 3, &raw);
        if (r < 0)
                return r;
        k = EVP_DecodeBlock(raw->data, b64->data, (int) n);
        if (k < 0)
                return -EBADMSG;
        raw->size = (size_t) k; /* padding bytes included, harmless for the prefix we read */

        if (raw->size < sizeof(OPENSSH_MAGIC) || memcmp(raw->data, OPENSSH_MAGIC, sizeof(OPENSSH_MAGIC)) != 0)
                return -EBADMSG;
        off = sizeof(OPENSSH_MAGIC);
        for (unsigned i = 0; i < 3; i++) { /* ciphername, kdfname, kdfoptions */
                r = ssh_string(raw->data, raw->size, &off, &field, &field_len);
                if (r < 0)
                        return r;
        }
        if (raw->size - off < 4 || be32(raw->data + off) < 1)
                return -EBADMSG;
        off += 4;
        r = ssh_string(raw->data, raw->size, &off, &field, &field_len);
        if (r < 0)
                return r;
        if (field_len != pub->blob_size || memcmp(field, pub->blob, field_len) != 0)
                return -EKEYREJECTED;
        return 1;
}

/* Load PATH.pub, checked against PATH. Returns 1 and the key if it is to
 * be published, 0 (after a warning) if it is skipped. */
static int load_one(const char *private_path, HostKey *ret) {
        _cleanup_(secret_freep) Secret *priv = NULL;
        _cleanup_free_ char *pub_path = NULL, *text = NULL;
        HostKey key = {};
        struct stat st;
        size_t size = 0;
        char *nl;
        int r;

        if (asprintf(&pub_path, "%s.pub", private_path) < 0)
                return log_oom();

        if (stat(private_path, &st) < 0) {
                log_warning_errno(errno, "Skipping host key '%s': private key not accessible: %m", private_path);
                return 0;
        }
        if (!S_ISREG(st.st_mode)) {
                log_warning("Skipping host key '%s': private key is not a regular file.", private_path);
                return 0;
        }
        if (st.st_uid == geteuid() && (st.st_mode & 077) != 0) {
                log_warning("Skipping host key '%s': sshd refuses a private key accessible by others (mode %04o).",
                            private_path, (unsigned) (st.st_mode & 07777));
                return 0;
        }

        r = read_full_file(pub_path, PUB_FILE_MAX, &text, &size);
        if (r < 0) {
                log_warning_errno(r, "Skipping host key '%s': cannot read '%s': %m", private_path, pub_path);
                return 0;
        }
        /* One key line; a trailing newline is fine, a second key is not. */
        nl = strchr(text, '\n');
        if (nl && nl[strspn(nl, " \t\r\n")] != 0) {
                log_warning("Skipping host key '%s': '%s' holds more than one line.", private_path, pub_path);
                return 0;
        }
        if (memchr(text, 0, size) || hostkey_parse_line(text, &key) < 0) {
                log_warning("Skipping host key '%s': '%s' is not an SSH public key.", private_path, pub_path);
                return 0;
        }

        r = secret_read_file(private_path, PRIVATE_KEY_MAX, &priv);
        if (r >= 0)
                r = private_key_matches(priv, &key);
        if (r == -EKEYREJECTED) {
                log_warning("Skipping host key '%s': '%s' does not belong to it.", private_path, pub_path);
                hostkey_done(&key);
                return 0;
        }
        if (r < 0) {
                log_warning_errno(r, "Skipping host key '%s': cannot read the private key: %m", private_path);
                hostkey_done(&key);
                return 0;
        }
        if (r == 0)
                log_info("Host key '%s' is not in OpenSSH format; publishing '%s' without comparing them.",
                         private_path, pub_path);

        *ret = key;
        return 1;
}

static int add_key(HostKey **keys, size_t *n, const char *private_path) {
        HostKey k = {}, *p;
        int r;

        r = load_one(private_path, &k);
        if (r <= 0)
                return r;
        for (size_t i = 0; i < *n; i++)
                if ((*keys)[i].blob_size == k.blob_size && memcmp((*keys)[i].blob, k.blob, k.blob_size) == 0) {
                        hostkey_done(&k);
                        return 0; /* the same key configured twice */
                }
        if (*n >= HOSTKEY_KEYS_MAX) {
                hostkey_done(&k);
                return log_error_errno(SYNTHETIC_ERRNO(E2BIG), "More than %u host keys.", HOSTKEY_KEYS_MAX);
        }
        p = realloc(*keys, (*n + 1) * sizeof(HostKey));
        if (!p) {
                hostkey_done(&k);
                return log_oom();
        }
        *keys = p;
        (*keys)[(*n)++] = k;
        log_debug("Publishing host key '%s' (%s).", private_path, k.type);
        return 1;
}

static int filter_pub(const struct dirent *de) {
        return fnmatch("ssh_host_*_key.pub", de->d_name, 0) == 0;
}

static int keys_from_dir(const char *dir, HostKey **keys, size_t *n) {
        struct dirent **entries = NULL;
        int k, r = 0;

        k = scandir(dir, &entries, filter_pub, alphasort);
        if (k < 0)
                return log_error_errno(errno, "Failed to list host keys in '%s': %m", dir);
        for (int i = 0; i < k; i++) {
                _cleanup_free_ char *path = NULL;

                if (r >= 0) {
                        if (asprintf(&path, "%s/%.*s", dir, (int) (strlen(entries[i]->d_name) - 4),
                                     entries[i]->d_name) < 0)
                                r = log_oom();
                        else
                                r = add_key(keys, n, path);
                }
                free(entries[i]);
        }
        free(entries);
        return r < 0 ? r : 0;
}

/* The HostKey files sshd's effective configuration names. */
static int keys_from_sshd(const char *config, HostKey **keys, size_t *n) {
        char *argv[] = { (char *) AUTHCHECK_SSHD, (char *) "-T", (char *) "-f", (char *) config, NULL };
        _cleanup_free_ char *out = NULL;
        char *line, *save = NULL;
        size_t size = 0;
        int r;

        r = spawn_capture(argv, SSHD_T_MAX, /* quiet= */ false, &out, &size);
        if (r < 0)
                return log_debug_errno(r, "Failed to run '%s -T -f %s': %m", AUTHCHECK_SSHD, config);
        if (r != 0)
                return log_debug_errno(SYNTHETIC_ERRNO(EIO), "'%s -T -f %s' failed with exit status %d.",
                                       AUTHCHECK_SSHD, config, r);

        for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (strncmp(line, "hostkey ", 8) != 0)
                        continue;
                if (line[8] != '/')
                        return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG),
                                               "sshd -T reports a relative host key path '%s'.", line + 8);
                r = add_key(keys, n, line + 8);
                if (r < 0)
                        return r;
        }
        return 0;
}

int host_keys_load(const AuthcheckArgs *a, HostKey **ret, size_t *ret_n) {
        HostKey *keys = NULL;
        size_t n = 0;
        int r;

        if (a->host_keys_dir)
                r = keys_from_dir(a->host_keys_dir, &keys, &n);
        else if (a->sshd_config) {
                r = keys_from_sshd(a->sshd_config, &keys, &n);
                if (r < 0 && r != -ENOMEM)
                        log_error_errno(r, "Failed to get the host keys from '%s -T -f %s': %m", AUTHCHECK_SSHD,
                                        a->sshd_config);
        } else if (access(AUTHCHECK_SSHD, X_OK) >= 0) {
                r = keys_from_sshd(AUTHCHECK_SSHD_CONFIG, &keys, &n);
                /* sshd -T refuses to run before ssh.service made /run/sshd, for one. */
                if (r < 0 && r != -ENOMEM) {
                        log_warning_errno(r, "Cannot ask sshd for its host keys, publishing those in %s: %m",
                                          AUTHCHECK_HOST_KEYS_DIR);
                        hostkeys_free(keys, n);
                        keys = NULL;
                        n = 0;
                        r = keys_from_dir(AUTHCHECK_HOST_KEYS_DIR, &keys, &n);
                }
        } else {
                log_debug("No %s here, looking for host keys in %s.", AUTHCHECK_SSHD, AUTHCHECK_HOST_KEYS_DIR);
                r = keys_from_dir(AUTHCHECK_HOST_KEYS_DIR, &keys, &n);
        }
        if (r < 0) {
                hostkeys_free(keys, n);
                return r;
        }
        if (n == 0)
                return log_error_errno(SYNTHETIC_ERRNO(ENOENT), "No usable SSH host keys found.");
        *ret = keys;
        *ret_n = n;
        return 0;
}
