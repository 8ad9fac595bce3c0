/* tls.c -- the TLS certificate of https and wss: reloading it while serving (SIGHUP), after
 * checking that the new pair is usable. Loop thread.
 *
 * libh2o takes the OpenSSL SSL_CTX its accept context holds for each new connection
 * (h2o_accept_ctx_t.ssl_ctx): a reload builds a new SSL_CTX from the PEM files and puts it
 * there; the next handshake shows the new certificate, open connections keep theirs
 * (tests/integration/tls.test.mjs). No ALPN is offered, so every connection is HTTP/1.1. The
 * pair is checked before it replaces the one in use, so that a bad one is reported to the
 * operator and the one in use kept. */
#include "http/http_internal.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TLS_FILE_MAX (1 << 20) /* bytes of a PEM certificate chain or key */

/* True if the PEM certificate 'cert' and PEM private key 'key' parse and belong together. */
static bool tls_pair_ok(const char *cert, size_t cert_len, const char *key, size_t key_len)
{
    BIO *cb = BIO_new_mem_buf(cert, (int)cert_len), *kb = BIO_new_mem_buf(key, (int)key_len);
    X509 *x = cb != NULL ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    EVP_PKEY *k = kb != NULL ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    bool ok = x != NULL && k != NULL && X509_check_private_key(x, k) == 1;
    EVP_PKEY_free(k);
    X509_free(x);
    BIO_free(kb);
    BIO_free(cb);
    return ok;
}

/* The whole of file 'path' (at most TLS_FILE_MAX bytes), NUL-terminated, in *out (freed by the
 * caller) and its length in *len; TT_EIO with 'err' naming the setting. */
static int read_pem(const char *path, const char *setting, char **out, size_t *len, char *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = f != NULL ? malloc(TLS_FILE_MAX + 1) : NULL;
    size_t n = buf != NULL ? fread(buf, 1, TLS_FILE_MAX + 1, f) : 0;
    if (f != NULL) {
        fclose(f);
    }
    if (buf == NULL || n == 0 || n > TLS_FILE_MAX) {
        free(buf);
        return tt_fail(err, TT_EIO, "cannot read %s '%s' (a PEM file of at most %d bytes)", setting,
                       path, TLS_FILE_MAX);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* A new server SSL_CTX for the PEM pair (TLS 1.2 and up; no ALPN: HTTP/1.1 only, so h2o
 * never takes a connection to HTTP/2), or NULL. */
static SSL_CTX *make_ctx(const char *cert, size_t cert_len, const char *key, size_t key_len)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    BIO *cb = BIO_new_mem_buf(cert, (int)cert_len), *kb = BIO_new_mem_buf(key, (int)key_len);
    X509 *x = cb != NULL ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    EVP_PKEY *k = kb != NULL ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    bool ok = ctx != NULL && x != NULL && k != NULL &&
              SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
              SSL_CTX_use_certificate(ctx, x) == 1 && SSL_CTX_use_PrivateKey(ctx, k) == 1 &&
              SSL_CTX_check_private_key(ctx) == 1;
    /* the rest of the chain, if the file has one */
    X509 *extra;
    while (ok && cb != NULL && (extra = PEM_read_bio_X509(cb, NULL, NULL, NULL)) != NULL) {
        if (SSL_CTX_add_extra_chain_cert(ctx, extra) != 1) {
            X509_free(extra);
            ok = false;
        }
    }
    ERR_clear_error();
    EVP_PKEY_free(k);
    X509_free(x);
    BIO_free(kb);
    BIO_free(cb);
    if (!ok) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION);
    return ctx;
}

int tls_load(const tt_config *cfg, SSL_CTX **out, char err[TT_ERRLEN])
{
    char *cert = NULL, *key = NULL;
    size_t cert_len = 0, key_len = 0;
    int rc = read_pem(cfg->tls_cert, "TELLTALE_TLS_CERT", &cert, &cert_len, err);
    if (rc == 0) {
        rc = read_pem(cfg->tls_key, "TELLTALE_TLS_KEY", &key, &key_len, err);
    }
    if (rc == 0 && (!tls_pair_ok(cert, cert_len, key, key_len) ||
                    (*out = make_ctx(cert, cert_len, key, key_len)) == NULL)) {
        rc = tt_fail(err, TT_EINVAL,
                     "TELLTALE_TLS_KEY '%s' is not a private key matching TELLTALE_TLS_CERT '%s' "
                     "(both PEM)",
                     cfg->tls_key, cfg->tls_cert);
    }
    if (key != NULL) {
        OPENSSL_cleanse(key, key_len);
    }
    free(cert);
    free(key);
    return rc;
}

/* New connections get the new context; those open keep theirs (each SSL holds a reference to
 * its SSL_CTX, so freeing ours here is safe). A bad pair never replaces the one in use. */
int http_server_reload_tls(http_server *hs, char err[TT_ERRLEN])
{
    SSL_CTX *ctx = NULL;
    if (hs->cfg->tls_cert[0] == '\0') {
        return tt_fail(err, TT_EINVAL, "TLS is not on (TELLTALE_TLS_CERT is not set)");
    }
    int rc = tls_load(hs->cfg, &ctx, err);
    if (rc == TT_EINVAL) {
        snprintf(err + strlen(err), TT_ERRLEN - strlen(err), ": kept the certificate in use");
    }
    if (rc == 0) {
        SSL_CTX_free(hs->accept_ctx.ssl_ctx);
        hs->accept_ctx.ssl_ctx = ctx;
    }
    return rc;
}
