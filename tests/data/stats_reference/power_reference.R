## Reference values for preclin.stats.power, made once by hand with Debian's R.
## Run from this folder:  Rscript power_reference.R
## Writes power_reference.csv (case, quantity, value). Tests never call R.

out <- data.frame(case = character(), quantity = character(), value = character(),
                  stringsAsFactors = FALSE)
put <- function(case, quantity, value) {
  out[nrow(out) + 1, ] <<- c(case, quantity, sprintf("%.17g", unname(value)))
}

## ---- t tests: power.t.test (power given n; n given power, R's default tol and tol 1e-12)
for (type in c("two.sample", "paired", "one.sample")) {
  for (n in c(3, 5, 10)) {
    r <- power.t.test(n = n, delta = 15, sd = 10, type = type)
    put(sprintf("t_%s_n%d", type, n), "power", r$power)
    r <- power.t.test(n = n, delta = 15, sd = 10, type = type, strict = TRUE)
    put(sprintf("t_%s_n%d_strict", type, n), "power", r$power)
  }
  r <- power.t.test(power = 0.8, delta = 15, sd = 10, type = type)
  put(sprintf("t_%s_p80", type), "n_R_default_tol", r$n)
  r <- power.t.test(power = 0.8, delta = 15, sd = 10, type = type, tol = 1e-12)
  put(sprintf("t_%s_p80", type), "n", r$n)
}
## "5 mice per arm detect a halving of engraftment": delta = 1 on log2 scale, sd = 0.6
r <- power.t.test(n = 5, delta = 1, sd = 0.6, sig.level = 0.05)
put("t_engraftment_n5", "power", r$power)
r <- power.t.test(power = 0.9, delta = 0.5, sd = 1, sig.level = 0.01, tol = 1e-12)
put("t_alpha01_p90", "n", r$n)

## ---- one-way ANOVA: power.anova.test
r <- power.anova.test(groups = 4, n = 5, between.var = 1, within.var = 3)
put("anova_g4_n5", "power", r$power)
r <- power.anova.test(groups = 4, between.var = 1, within.var = 3, power = 0.8)
put("anova_g4_p80", "n_R_default_tol", r$n)
## the same equation solved to 1e-12 (power.anova.test has no tol argument)
pa <- function(n, k, bv, wv, a) {
  lambda <- (k - 1) * n * bv / wv
  pf(qf(a, k - 1, (n - 1) * k, lower.tail = FALSE), k - 1, (n - 1) * k, lambda,
     lower.tail = FALSE)
}
put("anova_g4_p80", "n", uniroot(function(n) pa(n, 4, 1, 3, 0.05) - 0.8, c(2, 1e5),
                                 tol = 1e-12)$root)
means <- c(120, 130, 140, 150); sdw <- 20
r <- power.anova.test(groups = 4, n = 6, between.var = var(means), within.var = sdw^2)
put("anova_means_n6", "power", r$power)

## ---- log-rank: Schoenfeld and Freedman by formula
za <- qnorm(0.975)
sch_d <- function(hr, pw, p = 0.5) (za + qnorm(pw))^2 / (p * (1 - p) * log(hr)^2)
sch_pw <- function(hr, d, p = 0.5) pnorm(sqrt(d * p * (1 - p)) * abs(log(hr)) - za)
fr_d <- function(hr, pw) (za + qnorm(pw))^2 * (1 + hr)^2 / (1 - hr)^2
fr_pw <- function(hr, d) pnorm(sqrt(d) * abs(1 - hr) / (1 + hr) - za)
put("logrank_sch_hr05_p80", "events", sch_d(0.5, 0.8))
put("logrank_sch_hr05_p80_alloc13", "events", sch_d(0.5, 0.8, 1 / 3))
put("logrank_sch_hr05_d30", "power", sch_pw(0.5, 30))
put("logrank_sch_hr03_d10", "power", sch_pw(0.3, 10))
put("logrank_fr_hr05_p80", "events", fr_d(0.5, 0.8))
put("logrank_fr_hr05_d30", "power", fr_pw(0.5, 30))
put("logrank_sch_hr05_p80_pev07", "subjects", sch_d(0.5, 0.8) / 0.7)

write.csv(out, "power_reference.csv", row.names = FALSE, quote = FALSE)
cat(R.version.string, "\n")
