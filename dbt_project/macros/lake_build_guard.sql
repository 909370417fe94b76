{% macro lake_build_guard() -%}
{#-
    A pre-hook of every model (dbt_project.yml), rendered for incremental models only.

    Two builds may run at once: the `dbt` pool's limit raised, or a `dbt build` run by hand while
    the line builds (the pool of one is for speed, factory_assets/execution.py). DuckLake lets
    two transactions that only append to one table both commit, so two builds of an incremental
    model that each find a day missing could both insert it. Each
    incremental build's transaction therefore also rewrites its model's one-row guard table
    (schema `_build_guard`): DuckLake fails the later of two commits that rewrote the same rows
    ("Transaction conflict"), or a SQLite catalog refuses it ("database is locked"), and the
    dbt step retries on the newest snapshot, where the other build's days are no longer missing.
    A guard per model, so builds of different models never collide on it.
-#}
{%- if model.config.materialized == 'incremental' -%}
{%- set guard = this.database ~ '._build_guard.' ~ this.identifier -%}
create schema if not exists {{ this.database }}._build_guard;
create table if not exists {{ guard }} (builds bigint);
insert into {{ guard }} select 0 where not exists (select 1 from {{ guard }});
update {{ guard }} set builds = builds + 1
{%- endif -%}
{%- endmacro %}
