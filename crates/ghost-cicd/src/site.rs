//! The files a user keeps in the Ghost site's git repository: the `Dockerfile` of the site image, the CodeBuild
//! `buildspec.yml` and, with deployment = "codedeploy", the `taskdef.json` and `appspec.yaml` that CodePipeline's
//! CodeDeployToECS action reads, plus a `README.md` saying what each one is.
//!
//! `taskdef.json` is the run lens's task definition ([`ghost_runtime::ecs::task_def`]) with its image replaced by
//! [`IMAGE_PLACEHOLDER`], so the revisions the pipeline registers and the one `deploy` registers never disagree.
//! The buildspec names no stack: the registry and the container come from the CodeBuild project's environment
//! ([`BUILD_ENV`]).

use std::path::{Path, PathBuf};

use ghost_core::config::{Deployment, Source};
use ghost_runtime::ecs::{CONTAINER, TaskDef};
use ghost_runtime::lb::GHOST_PORT;

use crate::spec::CicdSpec;

/// Where the image goes in `taskdef.json`: CodeDeployToECS substitutes it with the `ImageURI` of
/// `imageDetail.json` (the action's `Image1ContainerName` is this name without the angle brackets).
pub const IMAGE_PLACEHOLDER: &str = "<IMAGE1_NAME>";
/// What CodeDeployToECS puts in `appspec.yaml`: the ARN of the revision it registers from `taskdef.json`.
pub const TASK_DEFINITION_PLACEHOLDER: &str = "<TASK_DEFINITION>";

pub const DOCKERFILE: &str = "Dockerfile";
pub const BUILDSPEC: &str = "buildspec.yml";
pub const TASKDEF: &str = "taskdef.json";
pub const APPSPEC: &str = "appspec.yaml";
pub const README: &str = "README.md";
/// Written by the build for CodeDeployToECS (`{"ImageURI": ...}`).
pub const IMAGE_DETAIL: &str = "imageDetail.json";
/// Written by the build for the ECS deploy action (`[{"name", "imageUri"}]`).
pub const IMAGE_DEFINITIONS: &str = "imagedefinitions.json";

/// The environment variables the buildspec reads from the CodeBuild project: the ECR repository URI and the
/// name of the task definition's container.
pub const BUILD_ENV: [&str; 2] = ["REPOSITORY_URI", "CONTAINER_NAME"];

/// One file of the site repository, by its path in the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteFile {
    pub path: &'static str,
    pub contents: String,
}

/// The site repository's files for this stack: Dockerfile, buildspec.yml and README.md, and with
/// deployment = "codedeploy" also taskdef.json and appspec.yaml (the ECS deploy action instead takes the service's
/// registered task definition and swaps its image).
pub fn render(td: &TaskDef, spec: &CicdSpec) -> Vec<SiteFile> {
    let file = |path, contents| SiteFile { path, contents };
    let mut files = vec![file(DOCKERFILE, dockerfile(spec)), file(BUILDSPEC, buildspec(spec.deployment))];
    if spec.deployment == Deployment::Codedeploy {
        files.push(file(TASKDEF, taskdef_text(td)));
        files.push(file(APPSPEC, appspec(td)));
    }
    files.push(file(README, readme(td, spec)));
    files
}

/// Creates `dir` and writes each file into it; returns the paths written.
/// What to do with the files written into `dir`: commit and push them to the source repository
/// (`push_url`), whose branch the pipeline builds.
pub fn next_steps(spec: &CicdSpec, dir: &Path, push_url: &str) -> String {
    let (d, branch) = (dir.display(), &spec.branch);
    format!(
        "next: commit these files to {} (branch {branch}) and push; the pipeline {} builds and releases them.\n  \
         git -C {d} init && git -C {d} add . && git -C {d} commit -m 'Ghost site' && git -C {d} push {push_url} HEAD:{branch}",
        spec.repository,
        spec.pipeline(),
    )
}

pub fn write(dir: &Path, files: &[SiteFile]) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    files
        .iter()
        .map(|f| {
            let path = dir.join(f.path);
            std::fs::write(&path, &f.contents)?;
            Ok(path)
        })
        .collect()
}

/// The task definition as `taskdef.json` holds it: the ghost container's image is [`IMAGE_PLACEHOLDER`].
pub fn taskdef_json(td: &TaskDef) -> serde_json::Value {
    serde_json::to_value(with_placeholder(td)).expect("a task definition serializes")
}

fn with_placeholder(td: &TaskDef) -> TaskDef {
    let mut td = td.clone();
    for c in td.container_definitions.iter_mut().filter(|c| c.name == CONTAINER) {
        c.image = IMAGE_PLACEHOLDER.to_string();
    }
    td
}

/// Pretty JSON with every object's keys sorted, ending with a newline: serde_json keeps insertion order or sorts
/// depending on a feature another crate may switch on, so the file must not depend on either.
fn taskdef_text(td: &TaskDef) -> String {
    let mut text = serde_json::to_string_pretty(&sorted(&taskdef_json(td))).expect("a task definition serializes");
    text.push('\n');
    text
}

fn sorted(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let keys: std::collections::BTreeMap<&String, &serde_json::Value> = m.iter().collect();
            serde_json::Value::Object(keys.into_iter().map(|(k, v)| (k.clone(), sorted(v))).collect())
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The container the load balancer sends traffic to, and its port: from the task definition, so the appspec
/// cannot name another one.
fn target(td: &TaskDef) -> (&str, i64) {
    let container = td.container_definitions.iter().find(|c| c.name == CONTAINER).or(td.container_definitions.first());
    let name = container.map_or(CONTAINER, |c| c.name);
    let port = container
        .and_then(|c| c.port_mappings.first())
        .and_then(|m| m.get("containerPort"))
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(i64::from(GHOST_PORT));
    (name, port)
}

/// Replaces each `@KEY@` of a template.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(template.to_string(), |text, (key, value)| text.replace(&format!("@{key}@"), value))
}

const DOCKERFILE_TEMPLATE: &str = r#"# The Ghost site image: Ghost plus this repository's themes. Rendered by ghost-ecs (`cargo xtask site render DIR`);
# CodeBuild builds it on every push (buildspec.yml). RUN --mount needs BuildKit, docker build's default since
# Docker 23.

# The base is pinned here, in the repository, so a commit (the image tag) fixes what runs. The pipeline always
# builds with this default; the ARG only lets a local build try another base:
#   docker build --build-arg GHOST_IMAGE=<image> .
ARG GHOST_IMAGE=@BASE_IMAGE@
FROM ${GHOST_IMAGE}

# Ghost runs as node (uid 1000), the user the EFS access point writes as. The official image starts as root only
# to chown the content volume and then steps down to node; on EFS the access point already owns the files, so
# the container starts as node and never holds root.
USER node

# Themes live in the image next to Ghost's bundled Casper (current/content/themes), not in the content volume:
# a deploy ships a theme change and a rollback takes it back. Ghost loads themes from the volume
# (content/themes); on every start the base image's entrypoint copies into it each entry of content.orig/themes
# that it lacks, and Casper's entry there is a link into current/. Each theme of this repository gets the same
# kind of link, so the volume always points at the running image's copy. The build context is bind-mounted
# (none of it stays in a layer); without content/themes/ this step does nothing.
RUN --mount=type=bind,target=/tmp/site \
    set -eu; \
    themes=/var/lib/ghost/current/content/themes; \
    for src in /tmp/site/content/themes/*/; do \
        [ -d "$src" ] || continue; \
        name="$(basename "$src")"; \
        rm -rf "$themes/$name" "/var/lib/ghost/content.orig/themes/$name"; \
        cp -R "$src" "$themes/$name"; \
        ln -s "$themes/$name" "/var/lib/ghost/content.orig/themes/$name"; \
        echo "theme: $name"; \
    done

# ENTRYPOINT and CMD stay the base image's: the entrypoint seeds the content volume only when it starts the
# default command (node current/index.js).
"#;

fn dockerfile(spec: &CicdSpec) -> String {
    fill(DOCKERFILE_TEMPLATE, &[("BASE_IMAGE", &spec.base_image)])
}

/// Shared by both deployments; `@CHECK@`, `@POST_BUILD@` and `@ARTIFACTS@` differ.
const BUILDSPEC_TEMPLATE: &str = r#"# CodeBuild: build the site image, push it to ECR and write what the deploy stage reads. Rendered by ghost-ecs
# (`cargo xtask site render DIR`). It names no stack: REPOSITORY_URI (the ECR repository) and CONTAINER_NAME (the task
# definition's container) are environment variables of the CodeBuild project, which runs privileged for Docker.
# Every command runs in the same shell, so a variable set in one phase is there in the next; a command that fails
# fails its phase, and ABORT stops the build there.
version: "0.2"

env:
  shell: bash
  variables:
    # The Dockerfile's RUN --mount needs BuildKit (the default of Docker 23 and later; explicit here).
    DOCKER_BUILDKIT: "1"

phases:
  pre_build:
    on-failure: ABORT
    commands:
      - '@CHECK@'
      - REGISTRY="${REPOSITORY_URI%%/*}"
      - REPOSITORY_NAME="${REPOSITORY_URI#*/}"
      - aws ecr get-login-password | docker login --username AWS --password-stdin "$REGISTRY"
      # The image tag: the commit's first 12 characters.
      - IMAGE_TAG="${CODEBUILD_RESOLVED_SOURCE_VERSION:0:12}"
      - '[ ${#IMAGE_TAG} -eq 12 ] || { echo "CODEBUILD_RESOLVED_SOURCE_VERSION holds no commit id" >&2; false; }'
      - IMAGE_URI="$REPOSITORY_URI:$IMAGE_TAG"
  build:
    on-failure: ABORT
    commands:
      # Tags are immutable: when this commit's image is in the registry already (a retried or re-released
      # pipeline run), it is reused, not built and pushed again.
      - FOUND="$(aws ecr batch-get-image --repository-name "$REPOSITORY_NAME" --image-ids imageTag="$IMAGE_TAG" --query 'length(images)' --output text)"
      - |
        if [ "$FOUND" = "0" ]; then
          docker build --pull --label "org.opencontainers.image.revision=$CODEBUILD_RESOLVED_SOURCE_VERSION" --tag "$IMAGE_URI" . && docker push "$IMAGE_URI"
        else
          echo "$IMAGE_URI is in the registry already: not built again"
        fi
  post_build:
    on-failure: ABORT
    commands:
@POST_BUILD@
artifacts:
  files:
@ARTIFACTS@
"#;

fn buildspec(deployment: Deployment) -> String {
    let [repository, container] = BUILD_ENV;
    // The check is one single-quoted YAML string: it holds no single quote. The post_build lines are the phase's
    // list (comments and commands), indented below.
    let (check, post_build, artifacts): (String, &[&str], &[&str]) = match deployment {
        Deployment::Codedeploy => (
            format!(
                r#"[ -n "${repository}" ] && [ -f {TASKDEF} ] && [ -f {APPSPEC} ] || {{ echo "needs {repository} (set on the CodeBuild project), {TASKDEF} and {APPSPEC} (cargo xtask site render)" >&2; false; }}"#
            ),
            &[
                "# CodeDeployToECS puts this image into taskdef.json where <IMAGE1_NAME> stands, registers the result",
                "# and deploys it blue/green as appspec.yaml says.",
                r#"- printf '{"ImageURI":"%s"}\n' "$IMAGE_URI" > imageDetail.json"#,
                "- cat imageDetail.json",
            ],
            &[IMAGE_DETAIL, TASKDEF, APPSPEC],
        ),
        Deployment::Ecs => (
            format!(
                r#"[ -n "${repository}" ] && [ -n "${container}" ] || {{ echo "needs {repository} and {container} (set on the CodeBuild project)" >&2; false; }}"#
            ),
            &[
                "# The ECS deploy action takes the service's task definition, sets this image on the container named",
                "# here and rolls the new revision out.",
                r#"- printf '[{"name":"%s","imageUri":"%s"}]\n' "$CONTAINER_NAME" "$IMAGE_URI" > imagedefinitions.json"#,
                "- cat imagedefinitions.json",
            ],
            &[IMAGE_DEFINITIONS],
        ),
    };
    debug_assert!(!check.contains('\''));
    let post_build = post_build.iter().map(|l| format!("      {l}")).collect::<Vec<_>>().join("\n");
    let artifacts = artifacts.iter().map(|f| format!("    - {f}")).collect::<Vec<_>>().join("\n");
    fill(BUILDSPEC_TEMPLATE, &[("CHECK", &check), ("POST_BUILD", &post_build), ("ARTIFACTS", &artifacts)])
}

fn appspec(td: &TaskDef) -> String {
    let (container, port) = target(td);
    format!(
        r#"# CodeDeploy's AppSpec for the blue/green deployment of the ECS service. Rendered by ghost-ecs
# (`cargo xtask site render DIR`): render it again rather than edit it. CodeDeployToECS replaces
# {TASK_DEFINITION_PLACEHOLDER} with the ARN of the revision it registers from taskdef.json; the load balancer
# sends traffic to this container and port.
version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: "{TASK_DEFINITION_PLACEHOLDER}"
        LoadBalancerInfo:
          ContainerName: "{container}"
          ContainerPort: {port}
"#
    )
}

/// Markdown paragraphs are single lines: they hold names of any length.
fn readme(td: &TaskDef, spec: &CicdSpec) -> String {
    let source = match spec.source {
        Source::Codecommit => format!("the CodeCommit repository `{}`", spec.repository),
        Source::Github => format!("the GitHub repository `{}`", spec.repository),
    };
    let mut rows = vec![
        format!("| `{DOCKERFILE}` | the image: `{}` plus the themes in `content/themes/` |", spec.base_image),
        format!(
            "| `{BUILDSPEC}` | CodeBuild's steps: log in to ECR, build and push the image (skipped when the commit's \
             image exists), write what the deploy stage reads |"
        ),
    ];
    let (deploy, generated) = match spec.deployment {
        Deployment::Codedeploy => {
            rows.push(format!(
                "| `{TASKDEF}` | generated: the service's task definition (family `{}`), with `{IMAGE_PLACEHOLDER}` \
                 where the build's image goes |",
                td.family
            ));
            rows.push(format!(
                "| `{APPSPEC}` | generated: tells CodeDeploy which service, container and port to deploy |"
            ));
            (
                format!(
                    "CodeDeploy (application `{}`) then registers `{TASKDEF}` with that image and replaces the \
                     service's tasks blue/green: the new tasks take the test listener first, then all traffic, and a \
                     failed deployment rolls back.",
                    spec.application()
                ),
                format!(
                    "Every file here but `content/` is generated from the stack's configuration by \
                     `cargo xtask site render DIR`. Render again and commit after changing the configuration (cpu, \
                     memory, database, image ...): otherwise the next push deploys the old `{TASKDEF}`."
                ),
            )
        }
        Deployment::Ecs => (
            "The ECS deploy action then takes the service's registered task definition (which `cargo xtask deploy` \
             keeps up to date; this repository holds none), sets the new image on its container and rolls the \
             service out blue/green (ECS-native)."
                .to_string(),
            "Every file here but `content/` is generated from the stack's configuration by \
             `cargo xtask site render DIR`."
                .to_string(),
        ),
    };
    rows.push(
        "| `content/themes/` | optional: one folder per theme; choose it in Ghost admin (Settings, Design) |"
            .to_string(),
    );
    format!(
        "# Ghost site\n\n\
         The source of the blog's Ghost image. A push to `{branch}` of {source} starts the pipeline `{pipeline}`: \
         CodeBuild builds the image from `{DOCKERFILE}` and pushes it to `{registry}`, tagged with the commit's first \
         12 characters. {deploy}\n\n\
         | file | what it is |\n\
         | --- | --- |\n\
         {rows}\n\n\
         {generated}\n",
        branch = spec.branch,
        pipeline = spec.pipeline(),
        registry = spec.ecr_uri(),
        rows = rows.join("\n"),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::fs;
    use std::process::Command;

    use ghost_core::Config;
    use ghost_runtime::RuntimeSpec;
    use ghost_runtime::ecs::{TaskRefs, task_def};
    use ghost_runtime::efs::EfsOut;
    use serde_json::{Value, json};
    use serde_yaml::Value as Yaml;

    use super::*;

    const ACCOUNT: &str = "123456789012";

    fn config() -> Config {
        Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ghost.toml")).expect("sample config")
    }

    fn task_definition(cfg: &Config) -> TaskDef {
        let fs = EfsOut {
            file_system_id: "fs-12345678".into(),
            file_system_arn: format!("arn:aws:elasticfilesystem:eu-west-2:{ACCOUNT}:file-system/fs-12345678"),
            access_point_id: "fsap-0123456789abcdef0".into(),
            access_point_arn: format!(
                "arn:aws:elasticfilesystem:eu-west-2:{ACCOUNT}:access-point/fsap-0123456789abcdef0"
            ),
            mount_targets: vec!["fsmt-11111111".into(), "fsmt-22222222".into()],
        };
        let (exec, task) =
            (format!("arn:aws:iam::{ACCOUNT}:role/ghost-exec"), format!("arn:aws:iam::{ACCOUNT}:role/ghost-task"));
        let refs = TaskRefs {
            execution_role: &exec,
            task_role: &task,
            file_system: &fs,
            log_group: "/ecs/ghost",
            database: None,
        };
        task_def(&RuntimeSpec::from_config(cfg), &refs).expect("task definition")
    }

    /// (task definition, spec) for a deployment mode.
    fn fixture(deployment: Deployment) -> (TaskDef, CicdSpec) {
        let cfg = config();
        let mut spec = CicdSpec::from_config(&cfg, ACCOUNT);
        spec.deployment = deployment;
        (task_definition(&cfg), spec)
    }

    fn file<'a>(files: &'a [SiteFile], path: &str) -> &'a str {
        &files.iter().find(|f| f.path == path).unwrap_or_else(|| panic!("{path} not rendered")).contents
    }

    fn paths(files: &[SiteFile]) -> Vec<&str> {
        files.iter().map(|f| f.path).collect()
    }

    // --- golden files ------------------------------------------------------------------------------------------

    /// Compares the rendered files byte for byte with tests/golden/<name>/ (and that the folder holds no other
    /// file). `UPDATE_GOLDEN=1 cargo test -p ghost-cicd --lib site` rewrites the folder instead: review the diff.
    fn check_golden(name: &str, files: &[SiteFile]) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
        if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
            if dir.exists() {
                fs::remove_dir_all(&dir).unwrap();
            }
            write(&dir, files).unwrap();
            return;
        }
        let mut problems = Vec::new();
        for f in files {
            match fs::read_to_string(dir.join(f.path)) {
                Err(e) => problems.push(format!("{}: {e}", f.path)),
                Ok(want) if want != f.contents => {
                    let line = want.lines().zip(f.contents.lines()).position(|(a, b)| a != b);
                    let line = line.unwrap_or_else(|| want.lines().count().min(f.contents.lines().count()));
                    problems.push(format!(
                        "{}: differs from line {}\n  golden:   {:?}\n  rendered: {:?}",
                        f.path,
                        line + 1,
                        want.lines().nth(line).unwrap_or("<end>"),
                        f.contents.lines().nth(line).unwrap_or("<end>")
                    ));
                }
                Ok(_) => {}
            }
        }
        let rendered: BTreeSet<&str> = files.iter().map(|f| f.path).collect();
        for entry in fs::read_dir(&dir).map(|d| d.flatten().collect::<Vec<_>>()).unwrap_or_default() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !rendered.contains(name.as_str()) {
                problems.push(format!("{name}: in the golden folder but not rendered"));
            }
        }
        assert!(
            problems.is_empty(),
            "site files differ from {}:\n{}\n(if the change is intended, rerun with UPDATE_GOLDEN=1 and review the diff)",
            dir.display(),
            problems.join("\n")
        );
    }

    #[test]
    fn codedeploy_files_match_the_golden_files() {
        let (td, spec) = fixture(Deployment::Codedeploy);
        check_golden("site-codedeploy", &render(&td, &spec));
    }

    #[test]
    fn ecs_files_match_the_golden_files() {
        let (td, spec) = fixture(Deployment::Ecs);
        check_golden("site-ecs", &render(&td, &spec));
    }

    // --- which files -------------------------------------------------------------------------------------------

    #[test]
    fn codedeploy_renders_the_deploy_templates_and_ecs_does_not() {
        let (td, spec) = fixture(Deployment::Codedeploy);
        assert_eq!(paths(&render(&td, &spec)), [DOCKERFILE, BUILDSPEC, TASKDEF, APPSPEC, README]);
        let (td, spec) = fixture(Deployment::Ecs);
        assert_eq!(paths(&render(&td, &spec)), [DOCKERFILE, BUILDSPEC, README]);
    }

    #[test]
    fn no_template_marker_is_left() {
        for deployment in [Deployment::Codedeploy, Deployment::Ecs] {
            let (td, spec) = fixture(deployment);
            for f in render(&td, &spec) {
                for marker in ["@BASE_IMAGE@", "@CHECK@", "@POST_BUILD@", "@ARTIFACTS@"] {
                    assert!(!f.contents.contains(marker), "{} ({deployment:?}) keeps {marker}", f.path);
                }
            }
        }
    }

    // --- Dockerfile --------------------------------------------------------------------------------------------

    #[test]
    fn dockerfile_builds_on_the_pinned_base_and_keeps_user_node_and_the_default_command() {
        let (td, mut spec) = fixture(Deployment::Codedeploy);
        spec.base_image = "ghost:6.0.1-bookworm".into();
        let files = render(&td, &spec);
        let instructions: Vec<&str> =
            file(&files, DOCKERFILE).lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
        assert_eq!(instructions[..2], ["ARG GHOST_IMAGE=ghost:6.0.1-bookworm", "FROM ${GHOST_IMAGE}"]);
        let users: Vec<&str> = instructions.iter().copied().filter(|l| l.starts_with("USER ")).collect();
        assert_eq!(users, ["USER node"], "Ghost runs as node, the EFS access point's uid");
        assert!(
            !instructions.iter().any(|l| l.starts_with("CMD") || l.starts_with("ENTRYPOINT")),
            "the base's entrypoint seeds the content volume only for its default command"
        );
        let body = file(&files, DOCKERFILE);
        assert!(body.contains("cp -R \"$src\" \"$themes/$name\""), "themes go into the image");
        assert!(body.contains("themes=/var/lib/ghost/current/content/themes;"));
        assert!(body.contains("ln -s \"$themes/$name\" \"/var/lib/ghost/content.orig/themes/$name\""));
    }

    /// The theme step as a shell script, run against a fake image layout: a theme of the repository lands in
    /// current/content/themes and content.orig/themes links to it; without content/themes nothing changes.
    #[test]
    fn dockerfile_theme_step_copies_and_links_the_repository_themes() {
        let (td, spec) = fixture(Deployment::Codedeploy);
        let docker = render(&td, &spec).into_iter().find(|f| f.path == DOCKERFILE).unwrap().contents;
        let run = docker.split_once("RUN --mount=type=bind,target=/tmp/site \\\n").expect("the theme step").1;
        let run: String = run
            .lines()
            .take_while(|l| l.ends_with('\\') || l.trim_end().ends_with("done"))
            .collect::<Vec<_>>()
            .join("\n");
        let root = scratch("theme-step");
        let script = run
            .replace("/tmp/site", &root.join("site").display().to_string())
            .replace("/var/lib/ghost", &root.join("ghost").display().to_string());
        let ghost = root.join("ghost");
        fs::create_dir_all(ghost.join("current/content/themes/casper")).unwrap();
        fs::create_dir_all(ghost.join("content.orig/themes")).unwrap();
        fs::create_dir_all(root.join("site")).unwrap();
        let sh = |script: &str| Command::new("sh").arg("-c").arg(script).output().unwrap();

        let out = sh(&script);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(fs::read_dir(ghost.join("content.orig/themes")).unwrap().count(), 0, "no themes, no links");

        fs::create_dir_all(root.join("site/content/themes/journal/assets")).unwrap();
        fs::write(root.join("site/content/themes/journal/package.json"), "{\"name\":\"journal\"}").unwrap();
        let out = sh(&script);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let copied = ghost.join("current/content/themes/journal");
        assert_eq!(fs::read_to_string(copied.join("package.json")).unwrap(), "{\"name\":\"journal\"}");
        assert!(copied.join("assets").is_dir());
        let link = fs::read_link(ghost.join("content.orig/themes/journal")).unwrap();
        assert_eq!(link, copied);
        assert!(!ghost.join("content.orig/themes/casper").exists(), "only the repository's themes are linked");
        fs::remove_dir_all(&root).unwrap();
    }

    // --- buildspec.yml -----------------------------------------------------------------------------------------

    fn yaml(text: &str) -> Yaml {
        serde_yaml::from_str(text).unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"))
    }

    fn strings(v: &Yaml) -> Vec<String> {
        v.as_sequence()
            .unwrap_or_else(|| panic!("not a list: {v:?}"))
            .iter()
            .map(|s| s.as_str().unwrap_or_else(|| panic!("not a string: {s:?}")).to_string())
            .collect()
    }

    #[test]
    fn buildspec_is_a_codebuild_0_2_spec_with_the_deploy_actions_artifacts() {
        for (deployment, artifacts) in
            [(Deployment::Codedeploy, vec![IMAGE_DETAIL, TASKDEF, APPSPEC]), (Deployment::Ecs, vec![IMAGE_DEFINITIONS])]
        {
            let (td, spec) = fixture(deployment);
            let files = render(&td, &spec);
            let text = file(&files, BUILDSPEC);
            let b = yaml(text);
            assert_eq!(b["version"], Yaml::String("0.2".into()), "{deployment:?}");
            for phase in ["pre_build", "build", "post_build"] {
                let commands = strings(&b["phases"][phase]["commands"]);
                assert!(!commands.is_empty() && commands.iter().all(|c| !c.trim().is_empty()), "{phase}");
                assert_eq!(b["phases"][phase]["on-failure"], Yaml::String("ABORT".into()), "{phase}");
            }
            assert_eq!(strings(&b["artifacts"]["files"]), artifacts, "{deployment:?}");
            let post_build = strings(&b["phases"]["post_build"]["commands"]).join("\n");
            assert!(post_build.contains(&format!("> {}", artifacts[0])), "post_build writes {}", artifacts[0]);
            // Stack-independent: the project's environment says where the image goes.
            for stack_value in [spec.ecr_uri(), spec.account.clone(), spec.region.clone(), spec.image_repository()] {
                assert!(!text.contains(&stack_value), "buildspec names {stack_value}");
            }
            let pre_build = strings(&b["phases"]["pre_build"]["commands"]).join("\n");
            assert!(pre_build.contains("aws ecr get-login-password | docker login"));
            assert!(pre_build.contains("${CODEBUILD_RESOLVED_SOURCE_VERSION:0:12}"));
        }
    }

    /// A test folder under the system temp dir, named after the test and this process.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ghost-site-{}-{name}", std::process::id()));
        if dir.exists() {
            fs::remove_dir_all(&dir).unwrap();
        }
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// What a CodeBuild run of the buildspec did, with `aws` and `docker` replaced by stubs that log their
    /// arguments; `found` is what batch-get-image reports for the commit's tag.
    struct BuildRun {
        ok: bool,
        log: String,
        calls: Vec<String>,
        dir: PathBuf,
    }

    fn run_buildspec(deployment: Deployment, found: u32, name: &str, prepare: impl Fn(&Path)) -> BuildRun {
        let (td, spec) = fixture(deployment);
        let files = render(&td, &spec);
        let b = yaml(file(&files, BUILDSPEC));
        let root = scratch(name);
        let (bin, src) = (root.join("bin"), root.join("src"));
        write(&src, &files).unwrap();
        prepare(&src);
        fs::create_dir_all(&bin).unwrap();
        let stub = |tool: &str, body: &str| {
            let path = bin.join(tool);
            fs::write(&path, format!("#!/bin/sh\necho \"{tool} $*\" >> \"$CALLS\"\n{body}\n")).unwrap();
            Command::new("chmod").arg("+x").arg(&path).status().unwrap();
        };
        stub(
            "aws",
            &format!(
                "case \"$*\" in *get-login-password*) echo token ;; *batch-get-image*) echo {found} ;; *) exit 3 ;; esac"
            ),
        );
        stub(
            "docker",
            "case \"$1\" in login) [ \"$(cat)\" = token ] ;; build) [ ! -e \"$CALLS.fail-build\" ] ;; push) ;; *) exit 4 ;; esac",
        );
        // CodeBuild's model: one shell for all commands; a failing command fails the phase (and ABORT the build).
        let mut script = String::new();
        for (key, value) in b["env"]["variables"].as_mapping().unwrap() {
            script += &format!("export {}={}\n", key.as_str().unwrap(), value.as_str().unwrap());
        }
        for phase in ["pre_build", "build", "post_build"] {
            for (i, command) in strings(&b["phases"][phase]["commands"]).iter().enumerate() {
                script += &format!("{{\n{command}\n}} || {{ echo \"{phase} command {i} failed\"; exit 90; }}\n");
            }
        }
        let out = Command::new(b["env"]["shell"].as_str().unwrap())
            .arg("-c")
            .arg(&script)
            .current_dir(&src)
            .env("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()))
            .env("CALLS", root.join("calls"))
            .env("REPOSITORY_URI", spec.ecr_uri())
            .env("CONTAINER_NAME", CONTAINER)
            .env("CODEBUILD_RESOLVED_SOURCE_VERSION", "0123456789abcdef0123456789abcdef01234567")
            .output()
            .unwrap();
        let calls = fs::read_to_string(root.join("calls")).unwrap_or_default().lines().map(String::from).collect();
        let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        BuildRun { ok: out.status.success(), log, calls, dir: src }
    }

    const IMAGE: &str = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/ghost-blog:0123456789ab";

    #[test]
    fn buildspec_builds_and_pushes_a_new_commit_and_writes_image_detail() {
        let run = run_buildspec(Deployment::Codedeploy, 0, "build-new", |_| {});
        assert!(run.ok, "{}", run.log);
        // The login pipe runs aws and docker concurrently: their order in the log varies.
        let mut login = run.calls[..2].to_vec();
        login.sort();
        assert_eq!(
            login,
            [
                "aws ecr get-login-password",
                "docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-2.amazonaws.com"
            ]
        );
        assert_eq!(
            run.calls[2..],
            [
                "aws ecr batch-get-image --repository-name ghost-blog --image-ids imageTag=0123456789ab --query \
                 length(images) --output text"
                    .to_string(),
                "docker build --pull --label org.opencontainers.image.revision=0123456789abcdef0123456789abcdef01234567 \
                 --tag 123456789012.dkr.ecr.eu-west-2.amazonaws.com/ghost-blog:0123456789ab ."
                    .into(),
                format!("docker push {IMAGE}"),
            ]
        );
        let detail: Value = serde_json::from_str(&fs::read_to_string(run.dir.join(IMAGE_DETAIL)).unwrap()).unwrap();
        assert_eq!(detail, json!({ "ImageURI": IMAGE }));
        fs::remove_dir_all(run.dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn buildspec_reuses_the_image_of_a_commit_built_before() {
        let run = run_buildspec(Deployment::Ecs, 1, "build-again", |_| {});
        assert!(run.ok, "{}", run.log);
        assert!(
            !run.calls.iter().any(|c| c.starts_with("docker build") || c.starts_with("docker push")),
            "{:?}",
            run.calls
        );
        let defs: Value = serde_json::from_str(&fs::read_to_string(run.dir.join(IMAGE_DEFINITIONS)).unwrap()).unwrap();
        assert_eq!(defs, json!([{ "name": CONTAINER, "imageUri": IMAGE }]));
        fs::remove_dir_all(run.dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn buildspec_stops_before_building_without_the_deploy_templates() {
        let run =
            run_buildspec(Deployment::Codedeploy, 0, "no-templates", |src| fs::remove_file(src.join(TASKDEF)).unwrap());
        assert!(!run.ok);
        assert!(
            run.log.contains("pre_build command 0 failed") && run.log.contains("cargo xtask site render"),
            "{}",
            run.log
        );
        assert_eq!(run.calls, Vec::<String>::new(), "nothing called before the check");
        assert!(!run.dir.join(IMAGE_DETAIL).exists());
        fs::remove_dir_all(run.dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn buildspec_stops_when_the_image_build_fails_and_writes_no_artifact() {
        let run = run_buildspec(Deployment::Ecs, 0, "build-fails", |src| {
            fs::write(src.parent().unwrap().join("calls.fail-build"), "").unwrap();
        });
        assert!(!run.ok);
        assert!(run.log.contains("build command 1 failed"), "{}", run.log);
        assert!(!run.calls.iter().any(|c| c.starts_with("docker push")), "{:?}", run.calls);
        assert!(!run.dir.join(IMAGE_DEFINITIONS).exists(), "post_build does not run after a failed build");
        fs::remove_dir_all(run.dir.parent().unwrap()).unwrap();
    }

    // --- appspec.yaml ------------------------------------------------------------------------------------------

    #[test]
    fn appspec_targets_the_task_definitions_container_and_port() {
        let (td, spec) = fixture(Deployment::Codedeploy);
        let a = yaml(file(&render(&td, &spec), APPSPEC));
        assert_eq!(a["version"].as_f64(), Some(0.0));
        let target = &a["Resources"][0]["TargetService"];
        assert_eq!(target["Type"], Yaml::String("AWS::ECS::Service".into()));
        let props = &target["Properties"];
        assert_eq!(props["TaskDefinition"], Yaml::String(TASK_DEFINITION_PLACEHOLDER.into()));
        let container = &td.container_definitions[0];
        assert_eq!(props["LoadBalancerInfo"]["ContainerName"].as_str(), Some(container.name));
        assert_eq!(
            props["LoadBalancerInfo"]["ContainerPort"].as_i64(),
            container.port_mappings[0]["containerPort"].as_i64()
        );
        assert_eq!(props["LoadBalancerInfo"]["ContainerPort"].as_i64(), Some(i64::from(GHOST_PORT)));
    }

    // --- taskdef.json ------------------------------------------------------------------------------------------

    #[test]
    fn taskdef_is_the_task_definition_with_the_image_placeholder() {
        let (td, spec) = fixture(Deployment::Codedeploy);
        let mut got: Value = serde_json::from_str(file(&render(&td, &spec), TASKDEF)).expect("taskdef.json is JSON");
        assert_eq!(got, taskdef_json(&td));
        let image = &mut got["containerDefinitions"][0]["image"];
        assert_eq!(image, IMAGE_PLACEHOLDER);
        *image = Value::String(td.container_definitions[0].image.clone());
        assert_eq!(got, serde_json::to_value(&td).unwrap(), "everything but the image is the task definition");
    }

    #[test]
    fn taskdef_follows_the_task_definition() {
        let (mut td, spec) = fixture(Deployment::Codedeploy);
        td.memory = "1024".into();
        let got: Value = serde_json::from_str(file(&render(&td, &spec), TASKDEF)).unwrap();
        assert_eq!(got["memory"], "1024");
    }

    // --- write -------------------------------------------------------------------------------------------------

    #[test]
    fn write_creates_the_folder_and_returns_the_paths() {
        let (td, spec) = fixture(Deployment::Ecs);
        let files = render(&td, &spec);
        let dir = scratch("write").join("nested/site");
        let written = write(&dir, &files).unwrap();
        assert_eq!(written, files.iter().map(|f| dir.join(f.path)).collect::<Vec<_>>());
        for f in &files {
            assert_eq!(fs::read_to_string(dir.join(f.path)).unwrap(), f.contents);
        }
        fs::remove_dir_all(dir.parent().unwrap().parent().unwrap()).unwrap();
    }
}
