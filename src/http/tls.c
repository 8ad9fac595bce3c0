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
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TLS_FILE_MAX (1 << 20) /* bytes of a PEM certificate chain or key */

#define CERT_SETTING "TELLTALE_TLS_CERT (--tls-cert)"
#define KEY_SETTING "TELLTALE_TLS_KEY (--tls-key)"

/* An encrypted key is refused, never asked for: OpenSSL's default would prompt on the
 * terminal, and a daemon has none to answer it (a SIGHUP would wait on it). */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* The whole of file 'path' (at most TLS_FILE_MAX bytes), NUL-terminated, in *out (freed by the
 * caller) and its length in *len; TT_EIO with 'err' naming the setting and why. */
static int read_pem(const char *path, const char *setting, char **out, size_t *len, char *err)
{
    const char *why = NULL;
    FILE *f = fopen(path, "rb");
    char *buf = f != NULL ? malloc(TLS_FILE_MAX + 1) : NULL;
    size_t n = buf != NULL ? fread(buf, 1, TLS_FILE_MAX + 1, f) : 0;
    if (f == NULL) {
        why = strerror(errno);
    } else if (buf == NULL) {
        why = "out of memory";
    } else if (ferror(f)) {
        why = strerror(errno);
    } else if (n == 0) {
        why = "the file is empty";
    } else if (n > TLS_FILE_MAX) {
        why = "the file is too large";
    }
    if (f != NULL) {
        fclose(f);
    }
    if (why != NULL) {
        free(buf);
        return tt_fail(err, TT_EIO, "cannot read %s '%s': %s (a PEM file of at most %d bytes)",
                       setting, path, why, TLS_FILE_MAX);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* Whether 'cert' and 'key' (the files' contents) parse as a PEM certificate and a PEM private
 * key that belong together; 0, or TT_EINVAL with 'err' saying which does not. */
static int check_pair(const tt_config *cfg, const char *cert, size_t cert_len, const char *key,
                      size_t key_len, char *err)
{
    int rc = 0;
    BIO *cb = BIO_new_mem_buf(cert, (int)cert_len), *kb = BIO_new_mem_buf(key, (int)key_len);
    X509 *x = cb != NULL ? PEM_read_bio_X509(cb, NULL, no_passphrase, NULL) : NULL;
    EVP_PKEY *k = kb != NULL ? PEM_read_bio_PrivateKey(kb, NULL, no_passphrase, NULL) : NULL;
    if (cb == NULL || kb == NULL) {
        rc = tt_fail(err, TT_ENOMEM, "out of memory");
    } else if (x == NULL) {
        rc = tt_fail(err, TT_EINVAL, "%s '%s' is not a PEM certificate", CERT_SETTING,
                     cfg->tls_cert);
    } else if (k == NULL) {
        rc = tt_fail(err, TT_EINVAL, "%s '%s' is not a PEM private key (unencrypted)", KEY_SETTING,
                     cfg->tls_key);
    } else if (X509_check_private_key(x, k) != 1) {
        rc = tt_fail(err, TT_EINVAL, "%s '%s' is not a private key matching %s '%s' (both PEM)",
                     KEY_SETTING, cfg->tls_key, CERT_SETTING, cfg->tls_cert);
    }
    ERR_clear_error();
    EVP_PKEY_free(k);
    X509_free(x);
    BIO_free(kb);
    BIO_free(cb);
    return rc;
}

/* A new server SSL_CTX for the PEM pair (TLS 1.2 and up; no ALPN: HTTP/1.1 only, so h2o
 * never takes a connection to HTTP/2), or NULL. */
static SSL_CTX *make_ctx(const char *cert, size_t cert_len, const char *key, size_t key_len)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    BIO *cb = BIO_new_mem_buf(cert, (int)cert_len), *kb = BIO_new_mem_buf(key, (int)key_len);
    X509 *x = cb != NULL ? PEM_read_bio_X509(cb, NULL, no_passphrase, NULL) : NULL;
    EVP_PKEY *k = kb != NULL ? PEM_read_bio_PrivateKey(kb, NULL, no_passphrase, NULL) : NULL;
    bool ok = ctx != NULL && x != NULL && k != NULL &&
              SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
              SSL_CTX_use_certificate(ctx, x) == 1 && SSL_CTX_use_PrivateKey(ctx, k) == 1 &&
              SSL_CTX_check_private_key(ctx) == 1;
    /* the rest of the chain, if the file has one */
    X509 *extra;
    while (ok && cb != NULL && (extra = PEM_read_bio_X509(cb, NULL, no_passphrase, NULL)) != NULL) {
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

/* Start-up and SIGHUP both come here, so that both say the same of the same files. */
int tls_load(const tt_config *cfg, SSL_CTX **out, char err[TT_ERRLEN])
{
    char *cert = NULL, *key = NULL;
    size_t cert_len = 0, key_len = 0;
    int rc = read_pem(cfg->tls_cert, CERT_SETTING, &cert, &cert_len, err);
    if (rc == 0) {
        rc = read_pem(cfg->tls_key, KEY_SETTING, &key, &key_len, err);
    }
    if (rc == 0) {
        rc = check_pair(cfg, cert, cert_len, key, key_len, err);
    }
    if (rc == 0 && (*out = make_ctx(cert, cert_len, key, key_len)) == NULL) {
        rc = tt_fail(err, TT_EINVAL,
                     "OpenSSL cannot serve %s '%s' with %s '%s' (the rest of the chain, or "
                     "the key's type?)",
                     CERT_SETTING, cfg->tls_cert, KEY_SETTING, cfg->tls_key);
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
    char why[TT_ERRLEN];
    int rc = tls_load(hs->cfg, &ctx, why);
    if (rc != 0) {
        /* every failure says so at its end, however long the paths made the reason */
        static const char kept[] = ": kept the certificate in use";
        tt_fail(err, rc, "%.*s%s", (int)(TT_ERRLEN - sizeof kept), why, kept);
    }
    if (rc == 0) {
        SSL_CTX_free(hs->accept_ctx.ssl_ctx);
        hs->accept_ctx.ssl_ctx = ctx;
    }
    return rc;
}
