/* A stand-in for JBIG-KIT's libjbig (GPL-2.0-or-later), written for docqueue (MIT).
 *
 * tesserocr's wheel bundles libtiff linked against libjbig, and libtiff is linked with BIND_NOW,
 * so it needs these symbols to load. docqueue never hands Tesseract a JBIG-compressed TIFF (pages
 * reach it as Pillow images), so the worker image replaces the bundled libjbig with this file:
 * every call fails, libtiff reports a JBIG-compressed TIFF as unreadable, and no GPL code ships.
 * services/worker/Dockerfile builds it; tests/e2e checks the image carries it. */
#include <stddef.h>

struct jbg_enc_state;
struct jbg_dec_state;

void jbg_dec_init(struct jbg_dec_state *s) { (void)s; }
int jbg_dec_in(struct jbg_dec_state *s, unsigned char *data, size_t len, size_t *cnt) {
  (void)s; (void)data; (void)len;
  if (cnt) *cnt = 0;
  return 8; /* JBG_EINVAL: the data cannot be decoded */
}
unsigned long jbg_dec_getsize(const struct jbg_dec_state *s) { (void)s; return 0; }
unsigned char *jbg_dec_getimage(const struct jbg_dec_state *s, int plane) { (void)s; (void)plane; return NULL; }
void jbg_dec_free(struct jbg_dec_state *s) { (void)s; }
void jbg_enc_init(struct jbg_enc_state *s, unsigned long x, unsigned long y, int planes,
                  unsigned char **p, void (*out)(unsigned char *, size_t, void *), void *file) {
  (void)s; (void)x; (void)y; (void)planes; (void)p; (void)out; (void)file;
}
void jbg_enc_out(struct jbg_enc_state *s) { (void)s; }
void jbg_enc_free(struct jbg_enc_state *s) { (void)s; }
int jbg_newlen(unsigned char *bie, size_t len) { (void)bie; (void)len; return 8; }
const char *jbg_strerror(int errnum) { (void)errnum; return "JBIG is not supported in docqueue's worker image"; }
/* A marker the image test looks for. */
const char docqueue_jbig_stub[] = "docqueue jbig stub (MIT)";
