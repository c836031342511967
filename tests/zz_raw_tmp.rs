#[test]
fn raw() {
    let cmd = mqttc::cli::command()
        .after_help(None::<&str>)
        .after_long_help(None::<&str>);
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut buf).unwrap();
    std::fs::write("/tmp/mq/raw.1", buf).unwrap();
}
