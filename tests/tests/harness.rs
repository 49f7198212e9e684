//! The harness itself: moto starts on a free port, serves S3, and is gone after drop.

use relay_tests::Moto;

#[tokio::test]
async fn when_two_motos_start_then_each_gets_its_own_port_and_serves_s3() {
    let first = Moto::start();
    let second = Moto::start();
    assert_ne!(first.endpoint(), second.endpoint());

    let bucket = first.create_bucket("harness").await;
    let s3 = first.s3_client().await;
    s3.put_object()
        .bucket(&bucket)
        .key("a/b.txt")
        .body(b"hello".to_vec().into())
        .send()
        .await
        .expect("put");
    let got = s3
        .get_object()
        .bucket(&bucket)
        .key("a/b.txt")
        .send()
        .await
        .expect("get");
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes().as_ref(),
        b"hello"
    );

    let listed = second
        .s3_client()
        .await
        .list_buckets()
        .send()
        .await
        .expect("list");
    assert!(
        listed.buckets().is_empty(),
        "the second moto shares no state with the first"
    );
}

#[tokio::test]
async fn when_moto_is_dropped_then_its_process_is_gone() {
    let moto = Moto::start();
    let pid = moto.pid();
    let endpoint = moto.endpoint().to_owned();
    drop(moto);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| s.contains(") Z "))
                .unwrap_or(true),
        "moto process {pid} still running"
    );
    let refused = reqwest::get(format!("{endpoint}/moto-api/")).await;
    assert!(refused.is_err(), "moto still answers at {endpoint}");
}
