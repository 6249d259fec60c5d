use baton::{Channel, Connection, Received};

#[test]
fn same_process_round_trip() {
    let dir = std::env::temp_dir().join(format!("baton-smoke-{}", std::process::id()));
    std::env::set_var("BATON_RUNTIME_DIR", &dir);
    let ch = Channel::create().unwrap();
    let chid = ch.id();
    let t = std::thread::spawn(move || {
        let c = Connection::attach(0, chid).unwrap();
        let mut r = [0u8; 16];
        let rep = c.send(b"ping", &mut r).unwrap();
        assert_eq!(&r[..rep.len], b"PING");
        assert_eq!(rep.status, 7);
    });
    let mut buf = [0u8; 16];
    match ch.receive(&mut buf).unwrap() {
        Received::Message(req) => {
            assert_eq!(req.len(), 4);
            let up = buf[..4].to_ascii_uppercase();
            req.reply(7, &up).unwrap();
        }
        Received::Pulse(p) => panic!("pulse {p:?}"),
    }
    t.join().unwrap();
}
