//! Layer 3: a real Ghost container run from an ECS task definition. Each test starts what it needs (engine,
//! image) and removes its containers by name on the way out, also when it fails.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ghost_core::Outcome;
use ghost_local::admin::{AdminClient, Owner};
use ghost_local::front::{self, Front, RequestLoop};
use ghost_local::image::{self, Recipe};
use ghost_local::runner::{self, LocalSettings};
use ghost_local::taskdef::TaskDefinition;
use ghost_local::{Engine, SAMPLE_TASK_DEFINITION, ghost_home, local_env};

const MAIL_ARN: &str = "arn:aws:secretsmanager:eu-west-1:000000000000:secret:ghost/mail";

async fn engine_and_image() -> (Engine, String) {
    let home = ghost_home();
    let engine = Engine::connect_or_start(&home).await.expect("docker engine");
    let img = image::ensure_image(&engine, &Recipe::default(), &home).await.expect("ghost image");
    (engine, img.into_id().tag)
}

/// Removes the named containers and the content folder when dropped (test passed or not).
struct Cleanup {
    names: Vec<String>,
    dir: PathBuf,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let names = self.names.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            rt.block_on(async {
                if let Ok(e) = Engine::connect_or_start(&ghost_home()).await {
                    for n in &names {
                        let _ = runner::remove_container(&e, n).await;
                    }
                }
            });
        })
        .join();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn settings(name: &str, image: &str, content: &std::path::Path) -> LocalSettings {
    LocalSettings {
        name: name.into(),
        image: Some(image.into()),
        volumes: BTreeMap::from([("ghost-content".to_string(), content.to_path_buf())]),
        secrets: BTreeMap::from([(MAIL_ARN.to_string(), "not-a-real-password".to_string())]),
        env: local_env(),
        ..Default::default()
    }
}

/// Deterministic within one test run, distinct between runs: two runs of this suite at once (two people, one
/// engine) must not replace each other's containers.
fn it_name(test: &str) -> String {
    format!("ghost-local-it-{}-{test}", std::process::id())
}

fn content_dir(test: &str) -> PathBuf {
    let d = ghost_home().join("it").join(format!("{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn owner() -> Owner {
    Owner {
        name: "Local Owner".into(),
        email: "owner@example.com".into(),
        password: "Zq7-harbour-lantern-91x".into(),
        blog_title: "Ghost local".into(),
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(20)).build().unwrap()
}

#[tokio::test]
async fn a_missing_engine_is_a_clear_error() {
    let err = Engine::connect_to("unix:///nonexistent/docker.sock").await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ghost_local::Error::NoEngine { .. }), "{msg}");
    assert!(msg.contains("/nonexistent/docker.sock") && msg.contains("docker.io"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_image_build_takes_seconds() {
    let (engine, tag) = engine_and_image().await;
    let t = Instant::now();
    let again = image::ensure_image(&engine, &Recipe::default(), &ghost_home()).await.unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!("second build: {secs:.2} s, {}", again.id());
    assert!(matches!(again, Outcome::Unchanged(_)), "{again:?}");
    assert_eq!(again.id().tag, tag);
    assert!(secs < 10.0, "second build took {secs:.1} s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ghost_from_task_definition_keeps_its_post_across_a_replacement() {
    let (engine, tag) = engine_and_image().await;
    let td = TaskDefinition::from_json(SAMPLE_TASK_DEFINITION).unwrap();
    let dir = content_dir("persist");
    let name = &it_name("persist");
    let _cleanup = Cleanup { names: vec![name.into()], dir: dir.clone() };
    let _ = runner::remove_container(&engine, name).await;
    let s = settings(name, &tag, &dir);

    let first = runner::ensure_container(&engine, &td, &s).await.unwrap();
    assert!(matches!(first, Outcome::Created(_)), "{first:?}");
    let run = first.into_id();
    let boot = runner::wait_ready(&engine, &run, Duration::from_secs(180)).await.unwrap();
    println!("first boot (empty content): {:.1} s", boot.as_secs_f64());
    // The same task definition again: nothing to do.
    let again = runner::ensure_container(&engine, &td, &s).await.unwrap();
    assert!(matches!(again, Outcome::Unchanged(_)), "{again:?}");

    let admin = AdminClient::new(&run.url).setup_and_login(&owner()).await.unwrap();
    let post = admin.create_post("Survives replacement", "<p>written before the swap</p>", "published").await.unwrap();
    assert_eq!(post.status, "published");
    // The Admin API key path: the JWT client sees the same post.
    let key = admin.create_admin_key("ghost-local-it").await.unwrap();
    let by_key = AdminClient::with_admin_key(&run.url, &key).unwrap();
    assert!(by_key.list_posts().await.unwrap().iter().any(|p| p.id == post.id));
    // Ghost's own messages come through typed: setup twice is refused.
    let err = AdminClient::new(&run.url).setup(&owner()).await.unwrap_err();
    assert!(matches!(err, ghost_local::Error::Ghost { status: 403, .. }), "{err}");

    // Replace the container (a new task definition revision) on the same content folder.
    let mut td2 = td.clone();
    td2.container_definitions[0]
        .environment
        .push(ghost_local::taskdef::KeyValuePair { name: "GHOST_LOCAL_REVISION".into(), value: "2".into() });
    let replaced = runner::ensure_container(&engine, &td2, &s).await.unwrap();
    assert!(matches!(&replaced, Outcome::Updated(r, ch) if r.id != run.id && ch[0].field == "spec"), "{replaced:?}");
    let run2 = replaced.into_id();
    assert_eq!(run2.port, run.port, "the port is kept across a replacement");
    let boot2 = runner::wait_ready(&engine, &run2, Duration::from_secs(120)).await.unwrap();
    println!("second boot (existing content): {:.1} s", boot2.as_secs_f64());

    let admin2 = AdminClient::new(&run2.url).login(&owner().email, &owner().password).await.unwrap();
    let back = admin2.get_post(&post.id).await.unwrap();
    assert_eq!(back.title, "Survives replacement");
    assert!(back.html.unwrap_or_default().contains("written before the swap"));
    // And the public site serves it.
    let page = http().get(format!("{}/{}/", run2.url, post.slug)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Survives replacement"));

    assert!(runner::stop_container(&engine, name).await.unwrap());
    assert!(runner::remove_container(&engine, name).await.unwrap());
    assert!(!runner::remove_container(&engine, name).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ghost_failing_to_start_is_a_clear_error() {
    let (engine, tag) = engine_and_image().await;
    let mut td = TaskDefinition::from_json(SAMPLE_TASK_DEFINITION).unwrap();
    td.container_definitions[0]
        .environment
        .push(ghost_local::taskdef::KeyValuePair { name: "NODE_OPTIONS".into(), value: "--no-such-node-flag".into() });
    let dir = content_dir("broken");
    let name = &it_name("broken");
    let _cleanup = Cleanup { names: vec![name.into()], dir: dir.clone() };
    let _ = runner::remove_container(&engine, name).await;
    let run = runner::ensure_container(&engine, &td, &settings(name, &tag, &dir)).await.unwrap().into_id();
    let t = Instant::now();
    let err = runner::wait_ready(&engine, &run, Duration::from_secs(60)).await.unwrap_err();
    let msg = err.to_string();
    println!("{msg}");
    assert!(matches!(err, ghost_local::Error::NotHealthy { .. }), "{msg}");
    assert!(msg.contains(name) && msg.contains("exited"), "{msg}");
    assert!(msg.contains("no-such-node-flag"), "the logs are in: {msg}");
    assert!(t.elapsed() < Duration::from_secs(30), "fails fast");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn blue_green_swap_drops_no_request() {
    let (engine, tag) = engine_and_image().await;
    let td = TaskDefinition::from_json(SAMPLE_TASK_DEFINITION).unwrap();
    let dir = content_dir("swap");
    let (blue_name, green_name) = (&it_name("blue"), &it_name("green"));
    let _cleanup = Cleanup { names: vec![blue_name.into(), green_name.into()], dir: dir.clone() };
    for n in [blue_name, green_name] {
        let _ = runner::remove_container(&engine, n).await;
    }
    // The front stands for the ALB: both colours know the site by the front's URL.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let front_port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut blue = settings(blue_name, &tag, &dir);
    blue.env.insert("url".into(), format!("http://127.0.0.1:{front_port}"));
    let mut green = settings(green_name, &tag, &dir);
    green.env = blue.env.clone();

    let b = runner::ensure_container(&engine, &td, &blue).await.unwrap().into_id();
    runner::wait_ready(&engine, &b, Duration::from_secs(180)).await.unwrap();
    let front = Front::start(front_port, b.port).await.unwrap();
    let admin = AdminClient::new(&front.url()).setup_and_login(&owner()).await.unwrap();
    let post = admin.create_post("Blue wrote this", "<p>still here on green</p>", "published").await.unwrap();

    // A request loop through the front for the whole swap.
    let looper = RequestLoop::start(
        vec![format!("{}/ghost/api/admin/site/", front.url()), format!("{}/{}/", front.url(), post.slug)],
        Duration::from_millis(20),
    );
    let t = Instant::now();
    let report = front::swap(&engine, &front, &td, blue_name, &green, Duration::from_secs(180)).await.unwrap();
    // Keep the loop going a little after blue is gone, so green alone is measured too.
    looper.until(200).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen = looper.stop().await;
    println!(
        "swap: {} ok, {} failed of {} requests; green ready in {:.1} s, swap took {:.1} s; drained {}, blue stopped {}",
        seen.ok,
        seen.failed,
        seen.ok + seen.failed,
        report.green_ready_s,
        t.elapsed().as_secs_f64(),
        report.drained,
        report.blue_stopped
    );
    assert_eq!(seen.failed, 0, "failed requests during the swap: {:?}", seen.errors);
    assert!(seen.ok >= 200);
    assert!(report.blue_stopped && report.drained);
    assert_eq!(front.upstream(), report.green.port);
    let blue_now = runner::find_container(&engine, blue_name).await.unwrap().unwrap();
    assert!(!blue_now.running, "blue is stopped");

    // Green serves blue's post.
    let page = http().get(format!("{}/{}/", front.url(), post.slug)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Blue wrote this"));
}
