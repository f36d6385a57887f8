/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "log.h"
#include "tpm2-nv.h"

int tpm2_handle_exists(Tpm2Context *c, TPM2_HANDLE handle) {
        _cleanup_(Esys_Freep) TPMS_CAPABILITY_DATA *cap = NULL;
        TPMI_YES_NO more = TPM2_NO;
        TSS2_RC rc;

        assert(c);

        /* Asking for one handle starting at @handle returns the next handle
         * that exists at or after it: equal means present. */
        rc = TPM2_CALL(c, Esys_GetCapability(c->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                             TPM2_CAP_HANDLES, handle, /* propertyCount= */ 1, &more, &cap));
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tpm2_rc_to_errno(rc), "TPM2_GetCapability(handles) failed: %s",
                                       tpm2_rc_string(rc));
        if (cap->capability != TPM2_CAP_HANDLES)
                return -EBADMSG;
        return cap->data.handles.count > 0 && cap->data.handles.handle[0] == handle;
}

/* Largest NV read the TPM accepts in one command (TPM_PT_NV_BUFFER_MAX). */
static size_t nv_buffer_max(Tpm2Context *c) {
        _cleanup_(Esys_Freep) TPMS_CAPABILITY_DATA *cap = NULL;
        TPMI_YES_NO more = TPM2_NO;
        size_t m = 512; /* the PC Client profile's minimum */
        TSS2_RC rc;

        rc = TPM2_CALL(c, Esys_GetCapability(c->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                             TPM2_CAP_TPM_PROPERTIES, TPM2_PT_NV_BUFFER_MAX, 1, &more, &cap));
        if (rc == TSS2_RC_SUCCESS && cap->capability == TPM2_CAP_TPM_PROPERTIES &&
            cap->data.tpmProperties.count > 0 &&
            cap->data.tpmProperties.tpmProperty[0].property == TPM2_PT_NV_BUFFER_MAX &&
            cap->data.tpmProperties.tpmProperty[0].value >= 64)
                m = cap->data.tpmProperties.tpmProperty[0].value;
        return MIN(m, sizeof(((TPM2B_MAX_NV_BUFFER *) NULL)->buffer));
}

static void esys_tr_closep(Tpm2Handle *h) {
        /* NV and persistent handles are only released from ESYS, never flushed. */
        if (h->ctx && h->tr != ESYS_TR_NONE)
                (void) Esys_TR_Close(h->ctx->esys, &h->tr);
        *h = TPM2_HANDLE_NULL;
}

int tpm2_nv_read(Tpm2Context *c, TPM2_HANDLE index, uint8_t **ret, size_t *ret_size) {
        _cleanup_(esys_tr_closep) Tpm2Handle nv = TPM2_HANDLE_NULL;
        _cleanup_(Esys_Freep) TPM2B_NV_PUBLIC *pub = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        ESYS_TR auth;
        size_t size, chunk;
        TPMA_NV attrs;
        TSS2_RC rc;
        int r;

        assert(c);
        assert(ret);
        assert(ret_size);

        r = tpm2_handle_exists(c, index);
        if (r < 0)
                return r;
        if (r == 0)
                return log_debug_errno(SYNTHETIC_ERRNO(ENXIO), "NV index 0x%08x does not exist.", index);

        nv.ctx = c;
        rc = TPM2_CALL(c, Esys_TR_FromTPMPublic(c->esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv.tr));
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tpm2_rc_to_errno(rc), "Failed to load NV index 0x%08x: %s", index,
                                       tpm2_rc_string(rc));
        rc = TPM2_CALL(c, Esys_NV_ReadPublic(c->esys, nv.tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL));
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tpm2_rc_to_errno(rc), "TPM2_NV_ReadPublic(0x%08x) failed: %s", index,
                                       tpm2_rc_string(rc));

        attrs = pub->nvPublic.attributes;
        size = pub->nvPublic.dataSize;
        if (!(attrs & TPMA_NV_WRITTEN) || size == 0)
                return log_debug_errno(SYNTHETIC_ERRNO(ENXIO), "NV index 0x%08x was never written.", index);
        if (size > TPM2_NV_READ_MAX)
                return log_debug_errno(SYNTHETIC_ERRNO(EFBIG), "NV index 0x%08x holds %zu bytes, refusing.",
                                       index, size);
        if (attrs & TPMA_NV_AUTHREAD)
                auth = nv.tr;
        else if (attrs & TPMA_NV_OWNERREAD)
                auth = ESYS_TR_RH_OWNER;
        else
                return log_debug_errno(SYNTHETIC_ERRNO(EPERM),
                                       "NV index 0x%08x is readable only by the platform.", index);

        buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        chunk = nv_buffer_max(c);
        for (size_t off = 0; off < size; off += chunk) {
                _cleanup_(Esys_Freep) TPM2B_MAX_NV_BUFFER *data = NULL;
                uint16_t n = (uint16_t) MIN(chunk, size - off);

                rc = TPM2_CALL(c, Esys_NV_Read(c->esys, auth, nv.tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                               n, (uint16_t) off, &data));
                if (rc != TSS2_RC_SUCCESS)
                        return log_debug_errno(tpm2_rc_to_errno(rc), "TPM2_NV_Read(0x%08x) failed: %s", index,
                                               tpm2_rc_string(rc));
                if (data->size != n)
                        return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG), "Short NV read from 0x%08x.", index);
                memcpy(buf + off, data->buffer, n);
        }

        log_debug("Read %zu bytes from NV index 0x%08x.", size, index);
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}
