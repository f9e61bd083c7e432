//! `fix`: from "head is slower than base" to a validated patch committed on a new branch.
//! Stages: measure (and confirm), test at head, bisect, profile, localize, patch and validate,
//! combine and attribute, confirm again, commit. Every stage's wall time goes in the report.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use git2::Oid;
use perf_fixer_core::config::RepoConfig;
use perf_fixer_core::report::{
    AfterSummary, AttemptOutcome, BenchVerdict, Culprit, FixReport, PatchReport, Report,
    StageTiming, Verdict,
};

use crate::bisect::{self, Probe};
use crate::branch;
use crate::compare::{self, CompareRequest, EngineError, shell_quote};
use crate::git::{self, Checkout};
use crate::hunks::{self, FileHunk};
use crate::localize::{self, Localization};
use crate::measure::{self, Context, MeasureError, Measurement, Progress, Samples, Site};
use crate::profiling;
use crate::runner::{CancelToken, Runner, SandboxMode};
use crate::spans;
use crate::strategies::{self, Candidate};
use crate::symbols;
use crate::validate::{self, CandidateSite, Gate, Reference, Validation};

/// Used when `.perf-fixer.toml` has no `[test]`: a fix is never offered untested.
const DEFAULT_TEST_COMMAND: &str = "cargo test --release";
/// Delta debugging counts a set of reverted hunks as restoring speed when it wins back at least
/// this share of the regression.
const MIN_SHARE_RESTORED: f64 = 0.5;

/// Candidates tried per strategy and round, so that a run stays bounded.
const MAX_CANDIDATES_PER_STRATEGY: usize = 4;
/// Subsets of hunks delta debugging may build and measure.
const DDMIN_BUDGET: usize = 8;
/// Hunks tried one at a time when reverting a whole set breaks the tests.
const MAX_SINGLE_REVERTS: usize = 4;

/// What the caller asks `fix` to do.
pub struct FixRequest {
    /// The repository: a work tree or a bare repository (the service's per-repo cache).
    pub repo: PathBuf,
    pub base: String,
    pub head: String,
    pub sandbox: SandboxMode,
    pub bench_filter: Option<String>,
    pub cancel: CancelToken,
    /// Wall-clock limit of one build, test or bench run.
    pub command_timeout: Duration,
    /// Name of the branch for the fix; `perf-fixer/<head short sha>` when absent.
    pub branch: Option<String>,
    /// Secrets to cut out of every command's output (tokens, keys), should one leak into it.
    pub scrubber: crate::secret::Scrubber,
}

/// How a fix run ended (the exit codes of `perf-fixer fix`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixOutcome {
    /// A validated fix is committed on a new branch (exit 0).
    Fixed,
    /// Head is not slower than base (exit 3).
    NoRegression,
    /// A regression, but no patch passed validation (exit 4).
    NoFix,
    /// The measurements could not decide (exit 5).
    Inconclusive,
}

#[derive(Debug)]
pub struct FixResult {
    pub outcome: FixOutcome,
    pub report: Report,
    /// The fix branch and commit, when `outcome` is `Fixed` (also in `report.fix`).
    pub branch: Option<String>,
    pub commit: Option<String>,
    /// The fix as a unified diff against head, for places that cannot take a branch (a pull
    /// request from a fork).
    pub patch: Option<String>,
}

/// Runs the whole engine. Never touches the user's work tree, index or current branch: the
/// fix lands on a new branch only.
pub fn fix(request: &FixRequest, progress: &dyn Progress) -> Result<FixResult, EngineError> {
    let compare_request = CompareRequest {
        repo: request.repo.clone(),
        base: request.base.clone(),
        head: request.head.clone(),
        sandbox: request.sandbox,
        bench_filter: request.bench_filter.clone(),
        cancel: request.cancel.clone(),
        command_timeout: request.command_timeout,
        scrubber: request.scrubber.clone(),
    };
    let resolved = compare::resolve(&request.repo, &request.base, &request.head)?;
    let runner = Runner::new(request.sandbox)?.with_scrubber(request.scrubber.clone());
    let ctx = compare::context(&resolved.config, &runner, &compare_request, progress);
    let run = FixRun {
        ctx: &ctx,
        request,
        repo: &resolved.repo,
        config: &resolved.config,
        base_oid: resolved.base_oid,
        head_oid: resolved.head_oid,
        report: resolved.report(Verdict::Inconclusive, Vec::new()),
        timer: Instant::now(),
        tried_groups: Vec::new(),
        tried_patches: Vec::new(),
        next_round: 0,
    };
    let outcome = run.execute()?;
    Ok(outcome)
}

struct FixRun<'a> {
    ctx: &'a Context<'a>,
    request: &'a FixRequest,
    repo: &'a git2::Repository,
    config: &'a RepoConfig,
    base_oid: Oid,
    head_oid: Oid,
    report: Report,
    timer: Instant,
    /// Hunk sets already searched by `revert_hunks`, so a later round does not repeat them.
    tried_groups: Vec<Vec<usize>>,
    /// Patches (new file contents) already validated, so a later round does not measure them
    /// again.
    tried_patches: Vec<std::collections::BTreeMap<std::path::PathBuf, String>>,
    /// The next patch round to run (rounds continue after a combination fails to confirm).
    next_round: u32,
}

/// Patches that held up together in the confirmation round.
struct Confirmed {
    accepted: Vec<(Candidate, Validation)>,
    /// All of them in one candidate.
    combined: Candidate,
    /// The combination against head, in its independent round.
    confirmation: Validation,
}

/// The culprit commit and what localization made of it.
struct Diagnosis {
    culprit: Oid,
    hunks: Vec<FileHunk>,
    localization: Localization,
    suspects: Vec<localize::Suspect>,
    /// Library functions whose cost grew, with their share of the growth.
    library: Vec<(String, f64)>,
}

impl<'a> FixRun<'a> {
    /// Adds the time since the last stage ended to `stage` (a stage can run more than once:
    /// patch rounds resume after a failed confirmation).
    fn stage_done(&mut self, stage: &str) {
        let seconds = self.timer.elapsed().as_secs_f64();
        match self
            .report
            .stage_timings
            .iter_mut()
            .find(|t| t.stage == stage)
        {
            Some(timing) => timing.seconds += seconds,
            None => self.report.stage_timings.push(StageTiming {
                stage: stage.to_string(),
                seconds,
            }),
        }
        self.timer = Instant::now();
    }

    fn finish(mut self, outcome: FixOutcome) -> FixResult {
        self.report
            .validation_commands
            .insert(0, self.compare_command(&self.report.head.sha.clone()));
        FixResult {
            outcome,
            report: self.report,
            branch: None,
            commit: None,
            patch: None,
        }
    }

    fn compare_command(&self, head: &str) -> String {
        format!(
            "perf-fixer compare --repo {} --base {} --head {}",
            shell_quote(&self.request.repo.display().to_string()),
            shell_quote(&self.report.base.sha),
            shell_quote(head)
        )
    }

    fn test_command(&self) -> String {
        match &self.config.test {
            Some(test) => test.command.clone(),
            None => DEFAULT_TEST_COMMAND.to_string(),
        }
    }

    fn execute(mut self) -> Result<FixResult, EngineError> {
        let ctx = self.ctx;
        self.ctx.progress.stage("checking out base and head");
        let mut base = Site::new("base", Checkout::create(self.repo, "base", self.base_oid)?);
        let mut head = Site::new("head", Checkout::create(self.repo, "head", self.head_oid)?);

        // Measure, then confirm with a second, independent round before acting on it.
        let first = measure::measure(ctx, &mut base, &mut head)?;
        self.report.benchmarks = first.benchmarks.clone();
        self.report.verdict = compare::overall_verdict(&first.benchmarks);
        if self.report.verdict != Verdict::Regression {
            self.stage_done("measure");
            let outcome = match self.report.verdict {
                Verdict::NoRegression => FixOutcome::NoRegression,
                _ => FixOutcome::Inconclusive,
            };
            return Ok(self.finish(outcome));
        }
        ctx.progress
            .stage("confirming the regression with a second round");
        let second = measure::measure(ctx, &mut base, &mut head)?;
        let regressed = confirmed_regressions(&first, &second);
        let merged_a = merge(&first.a, &second.a);
        let merged_b = merge(&first.b, &second.b);
        let mut benchmarks = measure::compare_all(ctx, &merged_a, &merged_b);
        for b in &mut benchmarks {
            if b.verdict == BenchVerdict::Regressed && !regressed.contains(&b.name) {
                b.verdict = BenchVerdict::Inconclusive;
            }
        }
        self.report.benchmarks = benchmarks;
        self.report.verdict = compare::overall_verdict(&self.report.benchmarks);
        self.stage_done("measure");
        if regressed.is_empty() {
            self.report.verdict = Verdict::Inconclusive;
            self.report.notes.push(
                "the first round found a regression that the confirmation round did not"
                    .to_string(),
            );
            return Ok(self.finish(FixOutcome::Inconclusive));
        }
        let head_samples = merged_b;

        // A fix can only be validated against tests that pass at head.
        ctx.progress.stage("running the tests at head");
        let test_command = self.test_command();
        if self.config.test.is_none() {
            self.report.notes.push(format!(
                "no [test] command in .perf-fixer.toml; validating with `{DEFAULT_TEST_COMMAND}`"
            ));
        }
        head.build(ctx)?;
        let tests = head.run(ctx, &test_command)?;
        self.stage_done("test");
        if !tests.success() {
            self.report.notes.push(format!(
                "the test command `{test_command}` already fails at head ({}), so no fix can be validated. \
                 Last lines:\n{}",
                tests.status_text(),
                tests.tail(10)
            ));
            return Ok(self.finish(FixOutcome::NoFix));
        }

        let diagnosis = self.diagnose(&mut base, &regressed)?;
        let mut cand = CandidateSite::new(Site::new(
            "candidate",
            Checkout::create(self.repo, "candidate", self.head_oid)?,
        ));
        let reference = reference_from(&self.report.benchmarks);
        let gate = Gate {
            regressed: &regressed,
            fix_paths: &self.config.fix.paths,
            test_command: &test_command,
            reference: &reference,
        };
        // A round's accepted patches must hold up, combined, in an independent round; when
        // they do not (one lucky measurement), the search goes on with the next round.
        loop {
            let accepted = self.search(&mut head, &mut cand, &diagnosis, &gate)?;
            self.stage_done("patch");
            if accepted.is_empty() {
                return Ok(self.finish(FixOutcome::NoFix));
            }
            let Some((combined, confirmation)) =
                self.confirm(&mut head, &mut cand, &accepted, &gate)?
            else {
                continue;
            };
            return self.conclude(
                base,
                cand,
                Confirmed {
                    accepted,
                    combined,
                    confirmation,
                },
                &regressed,
                &head_samples,
                &test_command,
            );
        }
    }

    /// Bisect to the culprit, profile it against its parent, and intersect the two.
    fn diagnose(
        &mut self,
        base: &mut Site,
        regressed: &[String],
    ) -> Result<Diagnosis, EngineError> {
        let ctx = self.ctx;
        let commits = git::commits_between(self.repo, self.base_oid, self.head_oid)?;
        let culprit = if commits.len() <= 1 {
            self.head_oid
        } else {
            ctx.progress
                .stage(&format!("bisecting {} commits", commits.len()));
            let mut probe = Site::new("probe", Checkout::create(self.repo, "probe", commits[0])?);
            let names: Vec<String> = commits.iter().map(Oid::to_string).collect();
            let head_changes: Vec<(String, f64)> = self
                .report
                .benchmarks
                .iter()
                .filter(|b| regressed.contains(&b.name))
                .filter_map(|b| Some((b.name.clone(), b.change_pct?)))
                .collect();
            let mut probe_log: Vec<String> = Vec::new();
            let result = bisect::bisect(&names, |commit| -> Result<Probe, MeasureError> {
                let oid = Oid::from_str(commit).map_err(|e| MeasureError::Patch(e.to_string()))?;
                probe.checkout.switch_to(oid)?;
                probe.mark_dirty();
                // Two independent rounds per probe, and a third when they disagree: one
                // misjudged probe sends the whole bisection to the wrong commit.
                let mut judge = || {
                    measure::measure(ctx, base, &mut probe)
                        .map(|m| probe_verdict(&m, &head_changes))
                };
                let verdict = judge().and_then(|first| {
                    let second = judge()?;
                    if first == second { Ok(first) } else { judge() }
                });
                match verdict {
                    Ok(v) => {
                        probe_log.push(format!(
                            "{}: {}",
                            &commit[..10.min(commit.len())],
                            if v == Probe::Bad { "slow" } else { "fast" }
                        ));
                        Ok(v)
                    }
                    Err(MeasureError::BuildFailed { status, .. }) => {
                        Ok(Probe::Skip(format!("does not build ({status})")))
                    }
                    Err(MeasureError::BenchFailed { status, .. }) => {
                        Ok(Probe::Skip(format!("bench fails ({status})")))
                    }
                    Err(MeasureError::NoResults { .. }) => {
                        Ok(Probe::Skip("bench gives no results".to_string()))
                    }
                    Err(e) => Err(e),
                }
            })
            .map_err(|e| match e {
                bisect::BisectError::Test(inner) => EngineError::Measure(inner),
                other => EngineError::Bisect(other.to_string()),
            })?;
            self.report.bisect = Some(result.to_report(commits.len()));
            self.report
                .notes
                .push(format!("bisection probes: {}", probe_log.join(", ")));
            if result.culprit().is_none() {
                self.report.notes.push(result.describe());
            }
            Oid::from_str(result.first_known_bad())
                .map_err(|e| EngineError::Bisect(e.to_string()))?
        };
        self.stage_done("bisect");

        let culprit_commit = self
            .repo
            .find_commit(culprit)
            .map_err(|e| EngineError::Bisect(e.to_string()))?;
        let parent = culprit_commit.parent_id(0).unwrap_or(self.base_oid);
        ctx.progress.stage("profiling the culprit and its parent");
        let findings = match profiling::suspects(ctx, self.repo, parent, culprit) {
            Ok(found) => found,
            Err(profiling::ProfilingError::Measure(MeasureError::Cancelled)) => {
                return Err(MeasureError::Cancelled.into());
            }
            Err(e) => {
                self.report.notes.push(format!(
                    "profiling failed, localizing by the diff alone: {e}"
                ));
                profiling::Findings::default()
            }
        };
        self.report.suspects = findings.reports.clone();
        self.report.flame_graph = findings.flame_graph.clone();
        let suspects = self.widen_to_functions(culprit, findings.suspects);
        self.stage_done("profile");

        let hunks = hunks::commit_hunks(self.repo, culprit)
            .map_err(|e| EngineError::Bisect(e.to_string()))?;
        let localization = localize::localize(&suspects, &hunks);
        if localization.method != localize::Method::SpanIntersection {
            self.report
                .notes
                .push(localization.method.describe().to_string());
        }
        let top_function = localization.functions.first();
        self.report.culprit = Some(Culprit {
            commit: culprit.to_string(),
            summary: git::commit_summary(self.repo, culprit)?,
            file: top_function.map(|f| f.file.clone()).or_else(|| {
                localization
                    .hunks
                    .first()
                    .and_then(|h| hunks.get(h.hunk))
                    .map(|h| h.path.clone())
            }),
            function: top_function.map(|f| f.function.clone()),
            hunks: localization.report_hunks(&hunks),
        });
        self.stage_done("localize");
        Ok(Diagnosis {
            culprit,
            hunks,
            localization,
            suspects,
            library: findings.library,
        })
    }

    /// Each suspect's span, widened to its whole `fn` item in the culprit's source.
    fn widen_to_functions(
        &self,
        culprit: Oid,
        suspects: Vec<localize::Suspect>,
    ) -> Vec<localize::Suspect> {
        suspects
            .into_iter()
            .map(|mut s| {
                if let Ok(Some(text)) = git::read_file_at(self.repo, culprit, &s.file) {
                    for line in [s.start_line, s.end_line] {
                        if let Some((a, b)) = spans::enclosing_function(&text, line) {
                            s.start_line = s.start_line.min(a);
                            s.end_line = s.end_line.max(b);
                        }
                    }
                }
                s
            })
            .collect()
    }

    /// Up to `max_attempts` rounds of candidates, each validated; returns the accepted ones.
    fn search(
        &mut self,
        head: &mut Site,
        cand: &mut CandidateSite,
        diagnosis: &Diagnosis,
        gate: &Gate<'_>,
    ) -> Result<Vec<(Candidate, Validation)>, EngineError> {
        let rounds = self.config.gate.max_attempts.max(1);
        let mut accepted = Vec::new();
        while self.next_round < rounds {
            let round = self.next_round;
            self.next_round += 1;
            let widen = round > 0;
            ctx_stage(self.ctx, &format!("patch round {} of {rounds}", round + 1));
            if let Some(found) = self.try_revert(head, cand, diagnosis, gate, widen)? {
                accepted.push(found);
            }
            let others = self.other_candidates(head, diagnosis, widen);
            for candidate in others {
                if accepted
                    .iter()
                    .any(|(c, _): &(Candidate, Validation)| overlaps(c, &candidate))
                    || self.tried_patches.contains(&candidate.files)
                {
                    continue;
                }
                self.tried_patches.push(candidate.files.clone());
                let v = validate::validate(self.ctx, head, cand, &candidate, gate)?;
                self.record(&candidate, &v);
                if v.accepted() {
                    accepted.push((candidate, v));
                }
            }
            if !accepted.is_empty() {
                break;
            }
        }
        cand.reset()?;
        Ok(accepted)
    }

    fn record(&mut self, candidate: &Candidate, v: &Validation) {
        self.report.attempts.push(candidate.to_attempt(
            v.outcome,
            v.reason.clone(),
            v.change_vs_head_pct,
        ));
    }

    /// Sets of hunks to revert, most likely first: the hunks inside the functions whose cost
    /// grew; for each library function whose cost grew, the hunks that mention it; their
    /// union; and, when widening, every hunk. Only hunks in files the patch may touch.
    fn revert_groups(&self, diagnosis: &Diagnosis, widen: bool) -> Vec<Vec<usize>> {
        let allowed = |i: &usize| {
            strategies::allowed(
                std::path::Path::new(&diagnosis.hunks[*i].path),
                &self.config.fix.paths,
            )
            .is_ok()
        };
        let mut groups: Vec<Vec<usize>> = Vec::new();
        if widen {
            groups.push((0..diagnosis.hunks.len()).filter(allowed).collect());
        } else {
            groups.push(
                diagnosis
                    .localization
                    .hunk_indices()
                    .into_iter()
                    .filter(allowed)
                    .collect(),
            );
            for (symbol, _) in &diagnosis.library {
                groups.push(
                    symbols::matching_hunks(symbol, &diagnosis.hunks)
                        .into_iter()
                        .filter(allowed)
                        .collect(),
                );
            }
            let mut union: Vec<usize> = groups.iter().flatten().copied().collect();
            union.sort_unstable();
            union.dedup();
            groups.push(union);
        }
        let mut out: Vec<Vec<usize>> = Vec::new();
        for mut g in groups {
            g.sort_unstable();
            g.dedup();
            if !g.is_empty() && !out.contains(&g) {
                out.push(g);
            }
        }
        out
    }

    /// `revert_hunks`: for each set of hunks (see `revert_groups`) not tried yet, revert it;
    /// when that restores speed, delta debugging shrinks the set so the rest of the commit is
    /// kept.
    fn try_revert(
        &mut self,
        head: &mut Site,
        cand: &mut CandidateSite,
        diagnosis: &Diagnosis,
        gate: &Gate<'_>,
        widen: bool,
    ) -> Result<Option<(Candidate, Validation)>, EngineError> {
        for group in self.revert_groups(diagnosis, widen) {
            if self.tried_groups.contains(&group) {
                continue;
            }
            self.tried_groups.push(group.clone());
            if let Some(found) = self.revert_search(head, cand, diagnosis, &group, gate)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    fn revert_search(
        &mut self,
        head: &mut Site,
        cand: &mut CandidateSite,
        diagnosis: &Diagnosis,
        pool: &[usize],
        gate: &Gate<'_>,
    ) -> Result<Option<(Candidate, Validation)>, EngineError> {
        let culprit = diagnosis.culprit.to_string();
        let mut validations: Vec<(Vec<usize>, Candidate, Validation)> = Vec::new();
        let head_dir = head.dir().to_path_buf();
        let total = diagnosis.hunks.len();
        let ctx = self.ctx;
        let head_vs_base = head_changes(gate);
        let result = crate::ddmin::minimal_subset(
            pool.len(),
            DDMIN_BUDGET,
            |subset| -> Result<crate::ddmin::Outcome, EngineError> {
                let chosen: Vec<&FileHunk> =
                    subset.iter().map(|&i| &diagnosis.hunks[pool[i]]).collect();
                let candidate =
                    match strategies::revert::revert_candidate(&head_dir, &culprit, &chosen, total)
                    {
                        Ok(c) => c,
                        Err(_) => return Ok(crate::ddmin::Outcome::Broken),
                    };
                // Different subsets can make the same patch (hunks in tests are left out of
                // reverts): validate each distinct patch once.
                let seen = validations
                    .iter()
                    .find(|(_, c, _)| c.files == candidate.files)
                    .map(|(_, _, v)| v.clone());
                let v = match seen {
                    Some(v) => v,
                    None => validate::validate(ctx, head, cand, &candidate, gate)?,
                };
                // A set restores speed when it wins back a good part of the loss, not merely
                // when it is measurably faster than head: otherwise one lucky measurement of an
                // unrelated hunk ends the search far from the slow one.
                let outcome = match v.outcome {
                    AttemptOutcome::Accepted
                        if share_won_back(&v, &head_vs_base)
                            .is_some_and(|won| won >= MIN_SHARE_RESTORED) =>
                    {
                        crate::ddmin::Outcome::Restores
                    }
                    AttemptOutcome::Accepted
                    | AttemptOutcome::NotFaster
                    | AttemptOutcome::RegressedOther => crate::ddmin::Outcome::DoesNot,
                    _ => crate::ddmin::Outcome::Broken,
                };
                validations.push((subset.to_vec(), candidate, v));
                Ok(outcome)
            },
        );
        // Record the attempts a reader needs: the set that was kept, or the full set that failed.
        match result {
            Ok(found) => {
                let Some(position) = validations.iter().position(|(s, _, _)| *s == found.subset)
                else {
                    return Ok(None);
                };
                let (_, candidate, v) = validations.swap_remove(position);
                if found.tests_run > 1 {
                    self.report.notes.push(format!(
                        "delta debugging tested {} subsets of {} hunks{}",
                        found.tests_run,
                        pool.len(),
                        if found.minimal {
                            ""
                        } else {
                            " (budget ran out before a minimal set)"
                        }
                    ));
                }
                self.record(&candidate, &v);
                Ok(Some((candidate, v)))
            }
            Err(crate::ddmin::DdminError::Test(e)) => Err(e),
            Err(_) => {
                if let Some((_, candidate, v)) = validations.into_iter().next() {
                    self.record(&candidate, &v);
                }
                if pool.len() > 1 {
                    return self.revert_singles(head, cand, diagnosis, pool, gate);
                }
                Ok(None)
            }
        }
    }

    /// When reverting the whole set breaks the tests (it undoes the commit's intent too), one
    /// hunk at a time may not: the slow part of a commit is often a single hunk. A hunk that no
    /// longer compiles alone is retried with its file's `use` hunks.
    fn revert_singles(
        &mut self,
        head: &mut Site,
        cand: &mut CandidateSite,
        diagnosis: &Diagnosis,
        pool: &[usize],
        gate: &Gate<'_>,
    ) -> Result<Option<(Candidate, Validation)>, EngineError> {
        let culprit = diagnosis.culprit.to_string();
        let total = diagnosis.hunks.len();
        let head_dir = head.dir().to_path_buf();
        for &i in pool
            .iter()
            .filter(|&&i| !is_import_hunk(&diagnosis.hunks[i]))
            .take(MAX_SINGLE_REVERTS)
        {
            // The file's `use` hunks, from the whole commit: localization rarely lists them.
            let imports: Vec<usize> = (0..diagnosis.hunks.len())
                .filter(|&j| {
                    j != i
                        && diagnosis.hunks[j].path == diagnosis.hunks[i].path
                        && is_import_hunk(&diagnosis.hunks[j])
                })
                .collect();
            let mut sets = vec![vec![i]];
            if !imports.is_empty() {
                sets.push([vec![i], imports].concat());
            }
            for set in sets {
                let chosen: Vec<&FileHunk> = set.iter().map(|&k| &diagnosis.hunks[k]).collect();
                let Ok(candidate) =
                    strategies::revert::revert_candidate(&head_dir, &culprit, &chosen, total)
                else {
                    continue;
                };
                let v = validate::validate(self.ctx, head, cand, &candidate, gate)?;
                self.record(&candidate, &v);
                match v.outcome {
                    AttemptOutcome::Accepted => return Ok(Some((candidate, v))),
                    AttemptOutcome::BuildFailed => continue,
                    _ => break,
                }
            }
        }
        Ok(None)
    }

    /// Rewrite rules inside suspect functions, restored build settings, and integer knobs.
    fn other_candidates(
        &mut self,
        head: &Site,
        diagnosis: &Diagnosis,
        widen: bool,
    ) -> Vec<Candidate> {
        let mut out = Vec::new();
        out.extend(
            self.rewrite_candidates(head, diagnosis, widen)
                .into_iter()
                .take(MAX_CANDIDATES_PER_STRATEGY),
        );
        if !widen {
            out.extend(
                self.build_profile_candidates(head, diagnosis)
                    .into_iter()
                    .take(MAX_CANDIDATES_PER_STRATEGY),
            );
            out.extend(
                self.knob_candidates(head, diagnosis)
                    .into_iter()
                    .take(MAX_CANDIDATES_PER_STRATEGY),
            );
        }
        out
    }

    fn rewrite_candidates(
        &mut self,
        head: &Site,
        diagnosis: &Diagnosis,
        widen: bool,
    ) -> Vec<Candidate> {
        // Spans of the suspect functions, per file (at head the lines may have moved since the
        // culprit; the rules only fire on recognised shapes, so a stale span costs nothing).
        let mut spans: std::collections::BTreeMap<String, Vec<perf_fixer_rewrite::Span>> =
            Default::default();
        for s in &diagnosis.suspects {
            let Some(rel) = relative_source(&s.file, head) else {
                continue;
            };
            spans
                .entry(rel)
                .or_default()
                .push(perf_fixer_rewrite::Span {
                    start_line: s.start_line,
                    end_line: s.end_line,
                });
        }
        if widen {
            for h in &diagnosis.hunks {
                let (start_line, end_line) = h.new_span();
                spans
                    .entry(h.path.clone())
                    .or_default()
                    .push(perf_fixer_rewrite::Span {
                        start_line,
                        end_line,
                    });
            }
        }
        let mut out = Vec::new();
        for (file, file_spans) in spans {
            if !file.ends_with(".rs") {
                continue;
            }
            let Ok(source) = std::fs::read_to_string(head.dir().join(&file)) else {
                continue;
            };
            match perf_fixer_rewrite::candidates(&source, &file_spans) {
                Ok(rewrites) => {
                    for r in rewrites {
                        out.push(Candidate {
                            strategy: "rewrite",
                            description: format!("{} ({file}:{})", r.description, r.start_line),
                            files: std::collections::BTreeMap::from([(
                                PathBuf::from(&file),
                                r.new_source.clone(),
                            )]),
                            risk: r.risk,
                            risk_notes: r.risk_notes.clone(),
                        });
                    }
                }
                Err(e) => self
                    .report
                    .notes
                    .push(format!("rewrite rules skipped {file}: {e}")),
            }
        }
        out
    }

    fn build_profile_candidates(&mut self, head: &Site, diagnosis: &Diagnosis) -> Vec<Candidate> {
        let culprit = diagnosis.culprit;
        let Ok(commit) = self.repo.find_commit(culprit) else {
            return Vec::new();
        };
        let Ok(parent) = commit.parent_id(0) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for manifest in diagnosis
            .hunks
            .iter()
            .map(|h| h.path.as_str())
            .filter(|p| p.ends_with("Cargo.toml"))
        {
            let (Ok(Some(before)), Ok(Some(after))) = (
                git::read_file_at(self.repo, parent, manifest),
                git::read_file_at(self.repo, culprit, manifest),
            ) else {
                continue;
            };
            let Ok(head_text) = std::fs::read_to_string(head.dir().join(manifest)) else {
                continue;
            };
            match strategies::build_profile::profile_changes(manifest, &before, &after).and_then(
                |changes| {
                    strategies::build_profile::candidates(
                        manifest,
                        &head_text,
                        &culprit.to_string(),
                        &changes,
                    )
                },
            ) {
                Ok(found) => out.extend(found),
                Err(e) => self
                    .report
                    .notes
                    .push(format!("build settings of {manifest}: {e}")),
            }
        }
        out
    }

    fn knob_candidates(&mut self, head: &Site, diagnosis: &Diagnosis) -> Vec<Candidate> {
        let culprit = diagnosis.culprit;
        let repo = self.repo;
        let culprit_file = |path: &str| git::read_file_at(repo, culprit, path).ok().flatten();
        let knobs =
            strategies::knobs::find_knobs(&diagnosis.hunks, &diagnosis.suspects, &culprit_file);
        let head_dir = head.dir().to_path_buf();
        let head_file = |path: &str| std::fs::read_to_string(head_dir.join(path)).ok();
        strategies::knobs::candidates(&knobs, &culprit.to_string(), &head_file)
    }

    /// Combines the accepted patches and confirms the combination in an independent round
    /// against head; None (with the evidence recorded) when it does not hold up.
    fn confirm(
        &mut self,
        head: &mut Site,
        cand: &mut CandidateSite,
        accepted: &[(Candidate, Validation)],
        gate: &Gate<'_>,
    ) -> Result<Option<(Candidate, Validation)>, EngineError> {
        let combined = combine(accepted);
        self.ctx
            .progress
            .stage("confirming the fix in an independent round");
        let confirmation = validate::validate(self.ctx, head, cand, &combined, gate)?;
        self.stage_done("validate");
        if confirmation.accepted() {
            return Ok(Some((combined, confirmation)));
        }
        self.report.notes.push(format!(
            "the accepted patches did not hold up in the confirmation round: {}",
            confirmation.reason
        ));
        self.record(&combined, &confirmation);
        Ok(None)
    }

    /// Attribute the confirmed fix's gain, measure it against base, and commit it on a new
    /// branch.
    fn conclude(
        mut self,
        mut base: Site,
        mut cand: CandidateSite,
        confirmed: Confirmed,
        regressed: &[String],
        head_samples: &Samples,
        test_command: &str,
    ) -> Result<FixResult, EngineError> {
        let ctx = self.ctx;
        let Confirmed {
            accepted,
            combined,
            confirmation,
        } = confirmed;

        // The fixed build against base, for the before/after table and the recovered share.
        ctx.progress.stage("measuring the fix against base");
        let against_base = measure::measure(ctx, &mut base, &mut cand.site)?;
        let against_head = confirmation.measurement.as_ref();
        let after = after_table(&against_base, against_head);
        let recovered_pct = recovered(&self.report, &against_base, head_samples, regressed);
        let patches = attribute(&accepted, confirmation.change_vs_head_pct, against_head);
        self.stage_done("measure_fix");

        let branch_name = self
            .request
            .branch
            .clone()
            .unwrap_or_else(|| default_branch_name(&self.report.head.sha));
        let message = branch::commit_message(&self.report, &patches, regressed);
        let committed = branch::commit_fix(
            self.repo,
            &cand.site.checkout,
            self.head_oid,
            &branch_name,
            &combined,
            &message,
        )?;
        self.report.fix = Some(FixReport {
            branch: committed.branch.clone(),
            commit: committed.commit.clone(),
            recovered_pct,
            patches,
            after,
        });
        self.report.validation_commands = vec![
            format!("git checkout {}", shell_quote(&committed.branch)),
            test_command.to_string(),
            self.compare_command(&committed.commit),
        ];
        self.stage_done("commit");
        Ok(FixResult {
            outcome: FixOutcome::Fixed,
            branch: Some(committed.branch),
            commit: Some(committed.commit),
            patch: Some(committed.patch),
            report: self.report,
        })
    }
}

fn ctx_stage(ctx: &Context<'_>, message: &str) {
    ctx.progress.stage(message);
}

/// What the first candidates are held against: head's change against base per benchmark and
/// base's peak memory.
fn reference_from(benchmarks: &[perf_fixer_core::report::BenchmarkReport]) -> Reference {
    Reference {
        vs_base_pct: benchmarks
            .iter()
            .filter_map(|b| Some((b.name.clone(), b.change_pct?)))
            .collect(),
        base_peak_rss_kib: benchmarks
            .iter()
            .filter_map(|b| b.base.as_ref()?.peak_rss_kib)
            .max(),
    }
}

/// Benchmarks that regressed in both rounds.
fn confirmed_regressions(first: &Measurement, second: &Measurement) -> Vec<String> {
    let second_regressed: Vec<&str> = second.regressed().map(|b| b.name.as_str()).collect();
    first
        .regressed()
        .filter(|b| second_regressed.contains(&b.name.as_str()))
        .map(|b| b.name.clone())
        .collect()
}

fn merge(a: &Samples, b: &Samples) -> Samples {
    let mut out = a.clone();
    for (name, (unit, values)) in &b.values {
        out.values
            .entry(name.clone())
            .or_insert_with(|| (unit.clone(), Vec::new()))
            .1
            .extend(values);
    }
    out.peak_rss_kib.extend(&b.peak_rss_kib);
    out
}

/// A bisection probe: bad when a regressed benchmark is at least half as slow at this commit
/// as at head, both against base, on a log scale (so that a 100x regression and a 2x one are
/// judged alike). Comparing with the known size of the regression, rather than asking for
/// significance again, keeps a noisy probe from pointing at a harmless commit.
fn probe_verdict(m: &Measurement, head_changes: &[(String, f64)]) -> Probe {
    let log_ratio = |pct: f64| (1.0 + pct / 100.0).max(1e-9).ln();
    let bad = head_changes.iter().any(|(name, head_change)| {
        m.benchmarks
            .iter()
            .find(|b| &b.name == name)
            .and_then(|b| b.change_pct)
            .is_some_and(|change| log_ratio(change) >= log_ratio(*head_change) / 2.0)
    });
    if bad { Probe::Bad } else { Probe::Good }
}

/// A hunk that only changes `use` lines: it couples with the hunks using what it imports.
fn is_import_hunk(hunk: &FileHunk) -> bool {
    hunk.old_lines.iter().chain(&hunk.new_lines).all(|l| {
        let t = l.trim();
        t.is_empty()
            || t.starts_with("use ")
            || t.starts_with("pub use ")
            || t.starts_with("pub(crate) use ")
    })
}

fn overlaps(a: &Candidate, b: &Candidate) -> bool {
    a.files.keys().any(|k| b.files.contains_key(k))
}

/// One candidate holding every accepted patch (they touch disjoint files).
fn combine(accepted: &[(Candidate, Validation)]) -> Candidate {
    if let [(only, _)] = accepted {
        return only.clone();
    }
    let mut files = std::collections::BTreeMap::new();
    for (c, _) in accepted {
        files.extend(c.files.clone());
    }
    let risk = accepted
        .iter()
        .map(|(c, _)| c.risk)
        .max_by_key(|r| risk_rank(*r))
        .unwrap_or(perf_fixer_core::report::Risk::Low);
    Candidate {
        strategy: "combined",
        description: accepted
            .iter()
            .map(|(c, _)| c.description.clone())
            .collect::<Vec<_>>()
            .join("; "),
        files,
        risk,
        risk_notes: accepted
            .iter()
            .map(|(c, _)| c.risk_notes.clone())
            .collect::<Vec<_>>()
            .join(" "),
    }
}

fn risk_rank(risk: perf_fixer_core::report::Risk) -> u8 {
    use perf_fixer_core::report::Risk;
    match risk {
        Risk::Low => 0,
        Risk::Medium => 1,
        Risk::High => 2,
    }
}

/// Each patch's share: its own gain against head when validated alone, scaled so that the
/// shares add up to the combination's measured gain.
fn attribute(
    accepted: &[(Candidate, Validation)],
    combined_change: Option<f64>,
    against_head: Option<&Measurement>,
) -> Vec<PatchReport> {
    let singles: Vec<f64> = accepted
        .iter()
        .map(|(_, v)| -v.change_vs_head_pct.unwrap_or(0.0))
        .collect();
    let total_single: f64 = singles.iter().sum();
    let combined_gain = combined_change.map(|c| -c);
    let noise = against_head.and_then(noise_margin);
    accepted
        .iter()
        .zip(&singles)
        .map(|((c, v), single)| {
            let gain = match combined_gain {
                Some(total) if total_single > 0.0 => Some(total * single / total_single),
                _ => Some(*single),
            };
            let mut report = c.to_patch_report(gain, Some(coverage_note(c)), noise);
            if !v.given_back.is_empty() {
                let given: Vec<String> = v.given_back.iter().map(|g| g.describe()).collect();
                report.risk_notes.push_str(&format!(
                    " It gives back part of an improvement the culprit made elsewhere ({}); \
                     no benchmark ends up slower than at base beyond the threshold.",
                    given.join("; ")
                ));
            }
            report
        })
        .collect()
}

/// Half the width of the widest interval of a regressed benchmark's change: gains below it are
/// within noise.
fn noise_margin(m: &Measurement) -> Option<f64> {
    m.benchmarks
        .iter()
        .filter_map(|b| Some((b.change_ci_high_pct? - b.change_ci_low_pct?) / 2.0))
        .fold(None, |acc: Option<f64>, w| {
            Some(acc.map_or(w, |a| a.max(w)))
        })
}

fn coverage_note(c: &Candidate) -> String {
    format!(
        "the test command passed with the patch; the changed file(s) {} are built by it",
        c.file_names().join(", ")
    )
}

/// The before/after rows: the fix's median per benchmark, and its change against head.
fn after_table(
    against_base: &Measurement,
    against_head: Option<&Measurement>,
) -> Vec<AfterSummary> {
    against_base
        .benchmarks
        .iter()
        .filter_map(|b| {
            let fixed = b.head.as_ref()?;
            let vs_head = against_head.and_then(|m| m.benchmarks.iter().find(|h| h.name == b.name));
            Some(AfterSummary {
                name: b.name.clone(),
                median: fixed.median,
                ci_low: fixed.ci_low,
                ci_high: fixed.ci_high,
                peak_rss_kib: fixed.peak_rss_kib,
                change_vs_head_pct: vs_head.and_then(|h| h.change_pct),
                change_vs_head_ci_low_pct: vs_head.and_then(|h| h.change_ci_low_pct),
                change_vs_head_ci_high_pct: vs_head.and_then(|h| h.change_ci_high_pct),
            })
        })
        .collect()
}

/// How much of the regression the fix wins back, in percent, averaged over the regressed
/// benchmarks: (head - fixed) / (head - base).
fn recovered(
    report: &Report,
    against_base: &Measurement,
    head_samples: &Samples,
    regressed: &[String],
) -> f64 {
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            f64::NAN
        } else {
            v[v.len() / 2]
        }
    };
    let shares: Vec<f64> = regressed
        .iter()
        .filter_map(|name| {
            let base = report
                .benchmarks
                .iter()
                .find(|b| &b.name == name)?
                .base
                .as_ref()?
                .median;
            let head = median(&head_samples.values.get(name)?.1);
            let fixed = against_base
                .benchmarks
                .iter()
                .find(|b| &b.name == name)?
                .head
                .as_ref()?
                .median;
            let lost = head - base;
            (lost > 0.0).then(|| (head - fixed) / lost * 100.0)
        })
        .collect();
    if shares.is_empty() {
        0.0
    } else {
        shares.iter().sum::<f64>() / shares.len() as f64
    }
}

/// The reference side's change against base (positive: slower), in percent, for each
/// regressed benchmark.
fn head_changes(gate: &Gate<'_>) -> Vec<(String, f64)> {
    gate.regressed
        .iter()
        .filter_map(|name| Some((name.clone(), *gate.reference.vs_base_pct.get(name)?)))
        .collect()
}

/// The smallest share (0..=1) of a regressed benchmark's loss that a validated candidate wins
/// back: (head - candidate) / (head - base), from the candidate's change against head and head's
/// change against base. None without a measurement or a loss to win back.
fn share_won_back(v: &Validation, head_vs_base: &[(String, f64)]) -> Option<f64> {
    let measurement = v.measurement.as_ref()?;
    head_vs_base
        .iter()
        .map(|(name, loss_pct)| {
            let vs_head = measurement
                .benchmarks
                .iter()
                .find(|b| &b.name == name)?
                .change_pct?;
            // base/head = 1 / (1 + loss); what is lost is 1 - base/head of head's time.
            let lost = 1.0 - 1.0 / (1.0 + loss_pct / 100.0);
            (lost > 0.0).then(|| (-vs_head / 100.0) / lost)
        })
        .try_fold(f64::INFINITY, |min, share| share.map(|s| min.min(s)))
        .filter(|s| s.is_finite())
}

fn default_branch_name(head_sha: &str) -> String {
    format!("perf-fixer/fix-{}", &head_sha[..head_sha.len().min(10)])
}

/// A file the profiler named, relative to the checkout, when it belongs to the checkout.
fn relative_source(file: &str, site: &Site) -> Option<String> {
    let path = std::path::Path::new(file);
    if path.is_relative() {
        return Some(file.to_string());
    }
    // Profiles come from other worktrees of the same repository: keep what follows the
    // worktree directory (`.../perf-fixer-<slot>-<pid>-<nonce>/src/x.rs` → `src/x.rs`).
    let text = path.to_string_lossy();
    let marker = "/perf-fixer-";
    let idx = text.rfind(marker)?;
    let rest = &text[idx + 1..];
    let rel = rest.split_once('/')?.1;
    site.dir().join(rel).exists().then(|| rel.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use perf_fixer_core::report::{BenchVerdict, BenchmarkReport};

    fn validation_with_change(vs_head_pct: f64) -> Validation {
        Validation {
            outcome: AttemptOutcome::Accepted,
            reason: String::new(),
            measurement: Some(Measurement {
                a: Samples::default(),
                b: Samples::default(),
                benchmarks: vec![BenchmarkReport {
                    name: "words".into(),
                    unit: "ns".into(),
                    base: None,
                    head: None,
                    change_pct: Some(vs_head_pct),
                    change_ci_low_pct: None,
                    change_ci_high_pct: None,
                    p_value: None,
                    verdict: BenchVerdict::Improved,
                }],
                pairs: 8,
                budget_exhausted: false,
            }),
            change_vs_head_pct: Some(vs_head_pct),
            given_back: Vec::new(),
        }
    }

    #[test]
    fn a_full_recovery_wins_back_the_whole_loss() {
        // Head is twice as slow as base; halving head's time is all of the loss.
        let loss = vec![("words".to_string(), 100.0)];
        let won = share_won_back(&validation_with_change(-50.0), &loss).unwrap();
        assert!((won - 1.0).abs() < 1e-9, "{won}");
    }

    #[test]
    fn a_small_gain_on_a_large_regression_is_a_small_share() {
        // Twenty times slower: 15% faster than head wins back about 16% of the loss, far from
        // restoring speed.
        let loss = vec![("words".to_string(), 1900.0)];
        let won = share_won_back(&validation_with_change(-15.0), &loss).unwrap();
        assert!((0.15..0.17).contains(&won), "{won}");
        assert!(won < MIN_SHARE_RESTORED);
    }

    #[test]
    fn the_worst_benchmark_decides_and_a_missing_one_gives_none() {
        let loss = vec![("words".to_string(), 100.0), ("other".to_string(), 100.0)];
        assert_eq!(share_won_back(&validation_with_change(-50.0), &loss), None);
        assert_eq!(share_won_back(&validation_with_change(-50.0), &[]), None);
    }
}
