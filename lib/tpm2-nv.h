/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading the well-known NV indices and persistent handles a platform
 * provisions (EK and AK certificates, AK templates, persistent AKs). */

#include <stddef.h>
#include <stdint.h>

#include "tpm2-util.h"

/* EK certificates (TCG EK Credential Profile 2.0, section 2.2.1.4). */
#define TPM2_NV_EK_CERT_RSA UINT32_C(0x01c00002)
#define TPM2_NV_EK_CERT_ECC UINT32_C(0x01c0000a)

/* Certificates and templates read from NV are never bigger than this. */
#define TPM2_NV_READ_MAX (16U * 1024U)

/* Whether @handle (a persistent object or an NV index) exists, asked with
 * TPM2_GetCapability(TPM_CAP_HANDLES) so that probing an absent handle
 * costs no failing command (and no tpm2-tss error line). Returns 1 if it
 * exists, 0 if not. */
int tpm2_handle_exists(Tpm2Context *c, TPM2_HANDLE handle);

/* Read the whole written contents of NV index @index (at most
 * TPM2_NV_READ_MAX bytes) with an empty authorization: the index's own if
 * it allows AUTHREAD, else the owner's if it allows OWNERREAD. -ENXIO if
 * the index does not exist or was never written, -EPERM if it needs an
 * authorization we don't have, -EFBIG if it is too large. */
int tpm2_nv_read(Tpm2Context *c, TPM2_HANDLE index, uint8_t **ret, size_t *ret_size);
