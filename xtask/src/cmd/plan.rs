//! `cargo xtask plan`: what a release builds, where, which tag releases it
//! and with which notes; hands the build matrix to the release workflow.

use anyhow::Result;
use serde_json::json;

use crate::model::config::runners;
use crate::model::github::{self, github_run, is_prerelease};
use crate::model::plan::Stamp;
use crate::project::Project;

pub(crate) struct Options {
    pub(crate) json: bool,
    pub(crate) tag: Option<String>,
    /// Write `matrix`, `publish`, `tag` and `version` to `$GITHUB_OUTPUT`, judging the
    /// run from `GITHUB_REF_TYPE` / `GITHUB_REF_NAME`.
    pub(crate) github_output: bool,
}

/// `cargo xtask plan`.
pub(crate) fn run(project: &Project, options: Options) -> Result<()> {
    let app = project.app();
    let plan = crate::cmd::release_plan(project, &[], Stamp::none())?;
    let release_tag = project.config.tag_pattern.tag_for(&plan.version);

    let mut tag = options.tag;
    let mut publish = false;
    if options.github_output {
        let var = |name: &str| std::env::var(name).unwrap_or_default();
        let run = github_run(
            &var("GITHUB_EVENT_NAME"),
            &var("GITHUB_REF_TYPE"),
            &var("GITHUB_REF_NAME"),
        );
        publish = run.publish;
        tag = tag.or(run.tag);
    }
    if let Some(tag) = &tag {
        github::check_tag(tag, &release_tag, app)?;
    }
    if publish {
        // The installer and binstall metadata point at `repository`: a fork
        // that forgot to change it would publish installers for someone else.
        let server =
            std::env::var("GITHUB_SERVER_URL").unwrap_or_else(|_| "https://github.com".into());
        let here = std::env::var("GITHUB_REPOSITORY")
            .ok()
            .map(|r| format!("{server}/{r}"));
        github::check_repository_is_here(project.repository()?.as_deref(), here.as_deref())?;
    }

    let matrix = crate::model::plan::matrix(&plan);
    if options.github_output {
        let lines = format!(
            "matrix={}\npublish={publish}\ntag={}\nprerelease={}\nversion={}\n",
            serde_json::to_string(&matrix).expect("JSON values always serialise"),
            tag.as_deref().unwrap_or_default(),
            is_prerelease(&plan.version),
            plan.version
        );
        crate::cmd::write_github_output(&lines)?;
        let kind = if is_prerelease(&plan.version) {
            "a pre-release"
        } else {
            "a release"
        };
        if publish {
            eprintln!("publishing {kind}");
        } else {
            eprintln!("dry run: building {kind}, publishing nothing");
        }
    }
    let notes = project.release_notes(&plan.version)?;
    let rebuilt: Vec<(&str, String)> = runners::rebuilt_targets(&project.config)
        .iter()
        .map(|t| (t.triple, runners::rebuild_runner(&project.config, t)))
        .collect();
    if options.json {
        let notes = notes
            .as_ref()
            .map(|(file, text)| json!({ "file": file, "text": text }));
        let doc = json!({
            "app": plan.app,
            "version": plan.version,
            "tag": release_tag,
            "matrix": matrix,
            "notes": notes,
            "publish_crate": project.config.publish_crate,
            "rebuild": rebuilt
                .iter()
                .map(|(target, runner)| json!({ "target": target, "runner": runner }))
                .collect::<Vec<_>>(),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("JSON values always serialise")
        );
    } else {
        println!(
            "{} {} (released by tag {release_tag})",
            plan.app, plan.version
        );
        for a in &plan.artifacts {
            let slices: Vec<&str> = a.target.slices.iter().map(|c| c.name()).collect();
            println!(
                "  {:<32} on {:<15} -> {}{}",
                a.target.triple,
                a.runner,
                a.file_name(),
                if slices.is_empty() {
                    String::new()
                } else {
                    format!(" (one binary of {} slices)", slices.join(" and "))
                }
            );
        }
        match &notes {
            Some((file, text)) => {
                println!(
                    "release notes, from the section {} of {}:",
                    plan.version,
                    file.display()
                );
                for line in text.lines() {
                    println!("  |{}{line}", if line.is_empty() { "" } else { " " });
                }
            }
            None => {
                println!(
                    "release notes: GitHub's list of merged pull requests (no CHANGELOG.md has a section {})",
                    plan.version
                );
                if let Some(file) = project.unreleased_changelog()? {
                    println!(
                        "  ({} has an `Unreleased` section: head it `## [{}] - YYYY-MM-DD` before tagging and it becomes the notes)",
                        file.display(),
                        plan.version
                    );
                }
            }
        }
        if !rebuilt.is_empty() {
            let each: Vec<String> = rebuilt
                .iter()
                .map(|(target, runner)| format!("{target} on {runner}"))
                .collect();
            println!(
                "rebuilt bit for bit before publishing (rebuild-check): {}",
                each.join(", ")
            );
        }
        if project.config.publish_crate {
            println!("crates.io: `cargo publish` after the GitHub release (publish-crate)");
        }
    }
    Ok(())
}
