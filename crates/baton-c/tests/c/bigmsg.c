/* MsgRead and MsgWrite of a 1 MiB message in chunks: the server receives
 * the header only, reads the rest in 64 KiB pieces (and one through
 * MsgReadv), writes its answer into the client's reply buffer piece by
 * piece (one through MsgWritev), then replies with a status only. */
#include "t.h"

#define SIZE (1 << 20)
#define CHUNK (64 << 10)

struct hdr { uint16_t type; uint16_t zero; uint32_t size; uint64_t seed; };

static struct chan_pipe info_pipe;

static unsigned char pattern(uint64_t seed, size_t i) {
    return (unsigned char)((i * 131 + seed) ^ (i >> 11));
}

static void server(void) {
    int chid = t_announce_channel(info_pipe, 0);
    struct hdr h;
    struct _msg_info info;
    rcvid_t rcvid = MsgReceive(chid, &h, sizeof h, &info);
    CHECK(rcvid > 0 && h.size == SIZE);
    CHECK(info.msglen == (ssize_t)sizeof h && info.srcmsglen == (ssize_t)(sizeof h + SIZE) && info.dstmsglen == SIZE);
    unsigned char *data = malloc(SIZE);
    CHECK(data != NULL);
    for (size_t off = 0; off < SIZE; off += CHUNK) {
        if (off == 2 * CHUNK) {
            iov_t iov[2];
            SETIOV(&iov[0], data + off, 100);
            SETIOV(&iov[1], data + off + 100, CHUNK - 100);
            CHECK(MsgReadv(rcvid, iov, 2, sizeof h + off) == CHUNK);
        } else {
            CHECK(MsgRead(rcvid, data + off, CHUNK, sizeof h + off) == CHUNK);
        }
    }
    for (size_t i = 0; i < SIZE; i++) CHECK(data[i] == pattern(h.seed, i));
    /* Reads clamp at the end of the message. */
    unsigned char tail[64];
    CHECK(MsgRead(rcvid, tail, sizeof tail, sizeof h + SIZE - 10) == 10);
    CHECK(MsgRead(rcvid, tail, sizeof tail, sizeof h + SIZE) == 0);
    for (size_t i = 0; i < SIZE; i++) data[i] = (unsigned char)~data[i];
    for (size_t off = 0; off < SIZE; off += CHUNK) {
        if (off == 3 * CHUNK) {
            iov_t iov[2];
            SETIOV(&iov[0], data + off, 1000);
            SETIOV(&iov[1], data + off + 1000, CHUNK - 1000);
            CHECK(MsgWritev(rcvid, iov, 2, off) == CHUNK);
        } else {
            CHECK(MsgWrite(rcvid, data + off, CHUNK, off) == CHUNK);
        }
    }
    /* Writes clamp at the end of the client's buffer. */
    CHECK(MsgWrite(rcvid, data, 100, SIZE - 40) == 40);
    CHECK(MsgReply(rcvid, 1234, NULL, 0) == 0);
    CHECK_ERR(MsgRead(rcvid, tail, 1, 0), ESRCH);
    free(data);
}

static void client(void) {
    int pid = t_get(info_pipe), chid = t_get(info_pipe);
    int coid = ConnectAttach(0, pid, chid, 0, 0);
    CHECK(coid >= 0);
    struct hdr h = { 0x300, 0, SIZE, 77 };
    unsigned char *msg = malloc(SIZE), *reply = malloc(SIZE);
    CHECK(msg && reply);
    for (size_t i = 0; i < SIZE; i++) msg[i] = pattern(h.seed, i);
    iov_t s[2];
    SETIOV(&s[0], &h, sizeof h);
    SETIOV(&s[1], msg, SIZE);
    CHECK(MsgSendvs(coid, s, 2, reply, SIZE) == 1234);
    for (size_t i = 0; i < SIZE - 40; i++) CHECK(reply[i] == (unsigned char)~pattern(h.seed, i));
    for (size_t i = 0; i < 40; i++) CHECK(reply[SIZE - 40 + i] == (unsigned char)~pattern(h.seed, i));
    free(msg);
    free(reply);
}

int main(void) {
    return t_server_client(120, &info_pipe, server, client);
}
