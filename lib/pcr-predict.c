/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

#include "log.h"
#include "pcr-predict.h"

/* systemd's unified_sections[] (src/fundamental/tpm-pcr.c), in the order
 * the stub measures them. .pcrsig is left out: it signs the result. */
static const char *const uki_measured_sections[] = {
        ".linux", ".osrel", ".cmdline", ".initrd", ".splash", ".dtb", ".pcrpkey",
};

int pcr_predict_replace_app(EventLog *log, const uint8_t old[PE_SHA256_SIZE], const uint8_t new[PE_SHA256_SIZE]) {
        int n = 0;

        for (size_t i = 0; i < log->n_events; i++) {
                EventLogEvent *e = &log->events[i];
                if (e->pcr != 4 || e->type != EV_EFI_BOOT_SERVICES_APPLICATION ||
                    memcmp(e->sha256, old, PE_SHA256_SIZE) != 0)
                        continue;
                memcpy(e->sha256, new, PE_SHA256_SIZE);
                n++;
        }
        return n;
}

bool pe_is_uki(const PeFile *pe) {
        return pe_find_section(pe, ".linux") != NULL;
}

int pcr_predict_uki_pcr11(const PeFile *uki, uint8_t ret[PE_SHA256_SIZE]) {
        uint8_t pcr[PE_SHA256_SIZE] = {}, digest[PE_SHA256_SIZE];
        unsigned len;
        int r;

        if (!pe_is_uki(uki))
                return -ENOMEDIUM;
        for (size_t i = 0; i < ELEMENTSOF(uki_measured_sections); i++) {
                const char *name = uki_measured_sections[i];
                const PeSection *s = pe_find_section(uki, name);

                /* The stub skips sections that are absent or empty. */
                if (!s || s->virtual_size == 0)
                        continue;
                if (EVP_Digest(name, strlen(name) + 1, digest, &len, EVP_sha256(), NULL) <= 0)
                        return -EIO;
                r = pcr_extend_sha256(pcr, digest);
                if (r < 0)
                        return r;
                r = pe_section_sha256(uki, s, digest);
                if (r < 0)
                        return r;
                r = pcr_extend_sha256(pcr, digest);
                if (r < 0)
                        return r;
        }
        memcpy(ret, pcr, PE_SHA256_SIZE);
        return 0;
}
