/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* qualifyingData of the host-key binding v1 against the independent
 * vectors in tests/vectors/hostkey-binding-v1 (README.md there). */
#include <stdlib.h>

#include "encode-util.h"
#include "hostkey-binding.h"
#include "macro.h"
#include "test-util.h"

static int read_key(const char *dir, const char *name, HostKey *ret) {
        _cleanup_free_ char *path = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        char line[4096];

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f || !fgets(line, sizeof line, f))
                return -errno;
        return hostkey_parse_line(line, ret);
}

static void check_digest(const HostKey *keys, size_t n, const char *nonce_hex, const char *want) {
        _cleanup_free_ void *nonce = NULL;
        _cleanup_free_ char *got = NULL;
        uint8_t d[32];
        size_t nn = 0;

        ASSERT_OK(hex_decode(nonce_hex, (size_t) -1, &nonce, &nn));
        ASSERT_OK(hostkey_binding_digest(keys, n, nonce, nn, d));
        ASSERT_OK(hex_encode(d, sizeof d, &got));
        ASSERT_STREQ(got, want);
}

static void test_bad_lines(void) {
        static const char *const bad[] = {
                "",
                "ssh-ed25519",
                "ssh-ed25519 !!!!",
                /* blob says ssh-ed25519 but the line claims ssh-rsa: relabelled key */
                "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAID1FJxUxJubc0ZBM8vmIpLSMwZUKmGKIANdxVmscbV0L",
                /* truncated blob: last string's length exceeds the data */
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID1FJxUxJubc0ZBM8vmIpLSMwZUKmGKIANdxVm",
                "SSH-ED25519 AAAAC3NzaC1lZDI1NTE5AAAAID1FJxUxJubc0ZBM8vmIpLSMwZUKmGKIANdxVmscbV0L",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                HostKey k = {};
                int r = hostkey_parse_line(bad[i], &k);
                TEST_RECORD(r < 0, "accepted bad line %zu (r=%d)", i, r);
                hostkey_done(&k);
        }
}

int main(int argc, char *argv[]) {
        static const char *const names[] = { "ssh_host_rsa_key.pub", "ssh_host_ed25519_key.pub",
                                             "ssh_host_ecdsa_key.pub" };
        HostKey keys[3] = {};
        int r;

        if (argc != 2) {
                fprintf(stderr, "usage: %s VECTOR-DIR\n", argv[0]);
                return 99;
        }
        for (size_t i = 0; i < 3; i++) {
                r = read_key(argv[1], names[i], &keys[i]);
                if (r < 0) {
                        fprintf(stderr, "cannot read vector %s: %s\n", names[i], strerror(-r));
                        return 99;
                }
        }
        ASSERT_STREQ(keys[1].type, "ssh-ed25519");

        /* Expected values: tests/vectors/hostkey-binding-v1/README.md. The
         * input order is deliberately not the sorted order. */
        check_digest(keys, 3, "", "7659c9023dda288efff1f94df79183e412615e13c69f3001213968ed2350ee1f");
        check_digest(keys, 3, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                     "a57e5510c41848326c0a996b2cf6afc6abe07fe28b2585c6a520800b9b350406");

        /* Any change of the key set changes the digest. */
        {
                uint8_t a[32], b[32];
                ASSERT_OK(hostkey_binding_digest(keys, 3, NULL, 0, a));
                ASSERT_OK(hostkey_binding_digest(keys, 2, NULL, 0, b));
                ASSERT_TRUE(memcmp(a, b, 32) != 0);
        }
        ASSERT_FAILS(hostkey_binding_digest(keys, 3, (const uint8_t *) "x", HOSTKEY_NONCE_MAX + 1, (uint8_t[32]) {}));

        test_bad_lines();
        for (size_t i = 0; i < 3; i++)
                hostkey_done(&keys[i]);
        return test_done();
}
