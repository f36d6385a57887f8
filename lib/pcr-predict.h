/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Predicting the sha256 PCR values of the next boot when boot files are
 * replaced (a new shim, systemd-boot or UKI), from this boot's event log:
 *
 *   PCR 4  UEFI firmware extends the Authenticode digest of each EFI
 *          application it starts (EV_EFI_BOOT_SERVICES_APPLICATION). The
 *          events whose digest is OLD's Authenticode digest get NEW's,
 *          then PCR 4 is replayed.
 *   PCR 11 systemd-stub (252 and later) measures the UKI's sections in the
 *          fixed order .linux .osrel .cmdline .initrd .splash .dtb
 *          .pcrpkey (.pcrsig never), each present one as two events:
 *          SHA256(section name including its NUL), then SHA256(the
 *          section's VirtualSize bytes as loaded). Nothing else extends
 *          PCR 11 before the initrd, so NEW's sections alone give it.
 *   PCR 7  Secure Boot policy: unchanged. Assumed: NEW is signed by the
 *          same db certificate as OLD (the EV_EFI_VARIABLE_AUTHORITY event
 *          names the certificate, not the image) and the Secure Boot
 *          variables stay as they are.
 *   0–3, 5, 6: unchanged (firmware, its configuration, GPT, boot
 *          variables). Other PCRs are extended by the OS or the kernel
 *          (PCR 8, 9, 12–15) and are not predicted: -EOPNOTSUPP. */

#include <stdbool.h>
#include <stdint.h>

#include "pe-authenticode.h"
#include "uefi-eventlog.h"

#define PCR_PREDICTABLE_MASK (UINT32_C(0xff) | UINT32_C(1) << 11)

/* Replace the digest of PCR 4's boot application events that equal @old
 * by @new. Returns how many events matched (0: OLD did not start in the
 * boot this log describes). */
int pcr_predict_replace_app(EventLog *log, const uint8_t old[PE_SHA256_SIZE], const uint8_t new[PE_SHA256_SIZE]);

/* PCR 11 as systemd-stub leaves it after booting @uki. -ENOMEDIUM if @uki
 * has no .linux section (not a UKI: the stub would not boot it). */
int pcr_predict_uki_pcr11(const PeFile *uki, uint8_t ret[PE_SHA256_SIZE]);

/* true if @pe has a .linux section. */
bool pe_is_uki(const PeFile *pe);
