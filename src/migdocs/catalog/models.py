"""The catalog v1 as pydantic models: what `catalog.yaml` may say, and nothing else."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from migdocs.objects import CATALOG_KEYS, ObjectKind, ObjectRef, parse_declared


class Risk(StrEnum):
    """How dangerous running a rollback is."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for low up to 3 for critical."""
        return _RISK_RANKS[self]


class Impact(StrEnum):
    """What running a rollback does besides undoing its migration."""

    DATA_LOSS = "data-loss"
    MAY_FAIL = "may-fail"
    PERFORMANCE = "performance"
    DOWNTIME = "downtime"


class Severity(StrEnum):
    """A finding's severity; ``off`` only appears in rule settings."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    OFF = "off"

    @property
    def rank(self) -> int:
        """Higher is more severe: info 1, warning 2, error 3 (off 0)."""
        return _SEVERITY_RANKS[self]


_RISK_RANKS = {"low": 0, "medium": 1, "high": 2, "critical": 3}
_SEVERITY_RANKS = {"off": 0, "info": 1, "warning": 2, "error": 3}


def _empty() -> list[Any]:
    # Python functions, not `list` and `dict`: pydantic reads each default factory's
    # signature, and a builtin's costs a run of the tokenizer (a few ms at every start).
    return []


def _no_session() -> dict[str, str]:
    return {}


def _no_settings() -> dict[str, RuleSetting]:
    return {}


NonEmpty = Annotated[str, StringConstraints(min_length=1)]
RULE_CODE = r"^MG\d{3}$"
"""What a rule code looks like: `MG` and three digits."""
Text = Annotated[str, Field(description="Markdown text.")]


class _Model(BaseModel):
    # No `use_attribute_docstrings`: pydantic would read and parse this file's source at
    # every import; `json_schema` adds the attribute docstrings when a schema is asked for.
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProjectInfo(_Model):
    """Who the history belongs to."""

    name: NonEmpty
    """The project's name, shown as the site's title."""
    description: Text | None = None
    """What the project is, in Markdown."""


class Paths(_Model):
    """Where the SQL files are, relative to the catalog's folder."""

    migrations: NonEmpty = "migrations"
    """Folder of the forward migrations."""
    rollbacks: NonEmpty = "migrations/rollbacks"
    """Folder of the rollback scripts."""


#: The placeholders of a file-name convention, with the regular expression each stands for.
PLACEHOLDERS = {
    "date": r"(?P<date>\d{4}-\d{2}-\d{2})",
    "name": r"(?P<name>[a-z0-9_]+)",
    "version": r"(?P<version>\d+(?:[._]\d+)*)",
}


class Conventions(_Model):
    """File name patterns: `{date}` is YYYY-MM-DD, `{name}` is [a-z0-9_]+, `{version}` digits."""

    migration: NonEmpty = "{date}_{name}.sql"
    """Pattern of a migration file's name."""
    rollback: NonEmpty = "{date}_rollback_{name}.sql"
    """Pattern of a rollback file's name."""

    @field_validator("migration", "rollback", mode="after")
    @classmethod
    def _known_placeholders(cls, pattern: str) -> str:
        # A misspelt placeholder would match no file, and MG103 would flag every one.
        for name in re.findall(r"\{([^{}]*)\}", pattern):
            if name not in PLACEHOLDERS:
                known = ", ".join(f"{{{known}}}" for known in PLACEHOLDERS)
                raise ValueError(f"unknown placeholder {{{name}}} in {pattern!r} (known: {known})")
        return pattern


class ReviewPolicy(_Model):
    """How often every entry must be reviewed."""

    every_days: Annotated[int, Field(gt=0, strict=True)] = 90
    """An entry reviewed longer ago than this is due again (MG601)."""


class Ledger(_Model):
    """How the live database records which migrations ran."""

    kind: Literal["none", "drizzle", "flyway", "table"] = "none"
    """The runner whose bookkeeping table to read."""
    table: NonEmpty | None = None
    """For `kind: table`: the table with one text column `version` holding migration ids."""

    @model_validator(mode="after")
    def _table_for_kind(self) -> Ledger:
        if self.kind == "table" and self.table is None:
            raise ValueError("a ledger of kind 'table' needs `table`")
        return self


RunnerKind = Literal[
    "plain",
    "drizzle",
    "flyway",
    "golang-migrate",
    "dbmate",
    "goose",
    "prisma",
    "supabase",
    "sqitch",
    "folders",
]
RUNNER_KINDS: tuple[str, ...] = get_args(RunnerKind)
"""Every runner migdocs knows, by the catalog's name for it."""


class RunnerSettings(_Model):
    """The tool that applies the migrations: where their SQL is, their order, transactions
    and ledger."""

    kind: RunnerKind = "plain"
    """`plain` reads `paths` and `conventions`; every other kind reads its runner's layout."""
    path: NonEmpty | None = None
    """The runner's folder, relative to the catalog (default: the runner's own default)."""
    include: list[NonEmpty] = Field(default_factory=_empty)
    """Globs of the files of this database, where one folder holds several databases'."""
    exclude: list[NonEmpty] = Field(default_factory=_empty)
    """Globs of files in the folder that are not this database's."""
    ledger: NonEmpty | None = None
    """Where the runner records what it applied (`schema.table`), when not its default."""

    @model_validator(mode="after")
    def _plain_has_no_folder(self) -> RunnerSettings:
        if self.kind == "plain" and (self.path or self.include or self.exclude or self.ledger):
            raise ValueError(
                "runner `plain` reads `paths`, `conventions` and `ledger`; "
                "`path`, `include`, `exclude` and `ledger` are for the other kinds"
            )
        return self


class RuleSetting(_Model):
    """One rule's setting."""

    severity: Severity
    """The severity its findings get; `off` silences the rule."""
    reason: NonEmpty | None = None
    """Why the default does not fit this project (required to turn a rule off)."""

    @model_validator(mode="after")
    def _reason_to_silence(self) -> RuleSetting:
        if self.severity is Severity.OFF and self.reason is None:
            raise ValueError("turning a rule off needs a `reason`")
        return self


_EXTENSION_NAME = re.compile(r"[a-z0-9_]+(-[a-z0-9_]+)*")


def _extension_name(name: str) -> str:
    if len(name) > 63 or not _EXTENSION_NAME.fullmatch(name):
        raise ValueError(
            f"{name!r} is not an extension's name: lower-case letters, digits and _, parts "
            "joined by single hyphens (`pg_cron`, `uuid-ossp`), at most 63 characters"
        )
    return name


#: An extension's name as its control file is named (what PostgreSQL accepts there, and
#: what a stub's file may be called).
ExtensionName = Annotated[str, AfterValidator(_extension_name)]


class Replay(_Model):
    """How `migdocs verify` prepares and runs the scratch database."""

    setup: list[NonEmpty] = Field(default_factory=_empty)
    """SQL files run before the first migration: what production has that no migration makes."""
    statement_timeout: Annotated[str, StringConstraints(pattern=r"^\d+\s*(ms|s|min|h)?$")] = "60s"
    """Longest a single statement may run during replay."""
    session: dict[
        Annotated[
            str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
        ],
        str,
    ] = Field(default_factory=_no_session)
    """Settings every replay session starts with, as production's `ALTER DATABASE … SET` or
    `ALTER ROLE … SET` give them (`search_path: "public, extensions"`)."""
    preset: NonEmpty | None = None
    """What a platform gives every database before its first migration (its roles, schemas
    and functions): the name of a preset migdocs ships (`supabase`), or a `.sql` file
    relative to the catalog. Replay runs it before `setup`; what it makes is the platform's,
    never a finding."""
    stub_extensions: list[ExtensionName] = Field(default_factory=_empty)
    """Extensions production has that no scratch server can have (a platform's own, such as
    `pg_cron` or `pg_net`): on the embedded server, `CREATE EXTENSION` makes an empty one of
    each name. One the server really has is used as it is, with a warning."""
    superuser: bool = False
    """Replay as a superuser (what a history needs that no other role may do: untrusted
    extensions, event triggers). Off by default: replayed SQL then cannot run programs, read
    files or reach other databases. A run that also audits a live database refuses it on
    the embedded server, which shares the machine with the live credentials."""


class Live(_Model):
    """What the live audit looks at."""

    schemas: list[NonEmpty] | None = None
    """Schemas to audit; default every non-system schema."""
    ignore: list[NonEmpty] = Field(default_factory=_empty)
    """Glob patterns of objects owned by other tools (`public.pg_stat_statements*`)."""


class Objects(_Model):
    """Objects as `[schema.]name`; columns, constraints, triggers as `[schema.]table.name`."""

    schemas: list[NonEmpty] = Field(default_factory=_empty)
    extensions: list[NonEmpty] = Field(default_factory=_empty)
    tables: list[NonEmpty] = Field(default_factory=_empty)
    columns: list[NonEmpty] = Field(default_factory=_empty)
    indexes: list[NonEmpty] = Field(default_factory=_empty)
    constraints: list[NonEmpty] = Field(default_factory=_empty)
    views: list[NonEmpty] = Field(default_factory=_empty)
    materialized_views: list[NonEmpty] = Field(default_factory=_empty)
    sequences: list[NonEmpty] = Field(default_factory=_empty)
    types: list[NonEmpty] = Field(default_factory=_empty)
    functions: list[NonEmpty] = Field(default_factory=_empty)
    triggers: list[NonEmpty] = Field(default_factory=_empty)

    @field_validator(*CATALOG_KEYS, mode="after")
    @classmethod
    def _names_parse(cls, names: list[str], info: ValidationInfo) -> list[str]:
        kind = CATALOG_KEYS[str(info.field_name)][0]
        for name in names:
            parse_declared(kind, name)
        return names

    def refs(self) -> list[ObjectRef]:
        """Every declared object, in declaration order."""
        given = self.model_fields_set  # most entries give one key or none: skip the others
        out: list[ObjectRef] = []
        if given:
            for key, kinds in CATALOG_KEYS.items():
                names = getattr(self, key) if key in given else None
                if names:
                    out.extend(parse_declared(kinds[0], name) for name in names)
        return out

    def __bool__(self) -> bool:
        return any(getattr(self, key) for key in self.model_fields_set)


class Rollback(_Model):
    """A rollback script with its risk, or `none` with the reason there is none."""

    file: NonEmpty | None = None
    """The rollback script, under `paths.rollbacks`."""
    risk: Risk | None = None
    """How dangerous running it is."""
    impact: list[Impact] = Field(default_factory=_empty)
    """What it does besides undoing the migration; [] for nothing."""
    summary: Text | None = None
    """What running it means, in Markdown."""
    none: NonEmpty | None = None
    """Instead of a script: why this migration has no rollback."""

    @model_validator(mode="after")
    def _script_or_none(self) -> Rollback:
        if self.none is not None:
            if self.file is not None:
                raise ValueError("give either `file` or `none`, not both")
            return self
        if self.file is not None:
            missing = [key for key in ("risk", "summary") if getattr(self, key) is None]
            if missing:
                raise ValueError(f"a rollback `file` needs {' and '.join(missing)}")
        return self

    @property
    def declared(self) -> bool:
        """Whether the entry says what its rollback is (a script, or none with a reason)."""
        return self.file is not None or self.none is not None


class Reviewed(_Model):
    """The last documentation review of an entry."""

    date: dt.date
    """When it was reviewed."""
    by: NonEmpty
    """Who reviewed it."""
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None
    """SHA-256 of the forward file's bytes followed by the rollback file's bytes, as reviewed."""


_RELEASE_NAME = re.compile(r"[^/\\\s](?:[^/\\\n\r\t\f\v]*[^/\\\s])?")


def _release_name(name: str) -> str:
    # The name is its page's file name (`releases/v2.3.md`) and a heading.
    if not _RELEASE_NAME.fullmatch(name):
        raise ValueError(
            f"{name!r} is not a release name: no slash, no line break, no space at either end"
        )
    return name


#: A release's name, as the team tags it (`v2.3`, `2024.06`, `spring-launch`).
ReleaseName = Annotated[
    str,
    StringConstraints(min_length=1),
    AfterValidator(_release_name),
    Field(json_schema_extra={"pattern": f"^{_RELEASE_NAME.pattern}$"}),
]


class Migration(_Model):
    """One migration, in the order they are applied."""

    id: Annotated[str, StringConstraints(pattern=r"^[^/\\\s](?:[^/\\\n\r\t\f\v]*[^/\\\s])?$")]
    """Unique id: the runner's name for it (a file stem, a Prisma folder)."""
    file: NonEmpty | None = None
    """The migration file under `paths.migrations`; default `{id}.sql`."""
    date: dt.date
    """The date the migration was written."""
    title: NonEmpty
    """A short title."""
    purpose: Text
    """Why the migration exists, in Markdown."""
    changes: list[Text] = Field(default_factory=_empty)
    """What it changes, one item each."""
    features: list[Text] = Field(default_factory=_empty)
    """What it enables for users."""
    creates: Objects = Field(default_factory=Objects)
    """What the SQL must create."""
    drops: Objects = Field(default_factory=Objects)
    """What the SQL must drop."""
    rollback: Rollback | None = None
    """How to undo it."""
    reviewed: Reviewed | None = None
    """The last review; absent means never reviewed."""
    notes: Text | None = None
    """Free Markdown."""
    release: ReleaseName | None = None
    """The release that ships it (`v2.3`): the site gives each release a page with its
    migrations, the schema difference across it, its highest rollback risk and its rollback
    order. It is text: quote a name that YAML would read as a number (`release: "2.10"`)."""

    @field_validator("release", mode="before")
    @classmethod
    def _release_as_written(cls, value: object) -> object:
        # YAML reads `release: 2.10` as the number 2.1: refused, rather than kept as a name
        # the team never wrote.
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError(
                f"YAML reads this release as the number {value!r}, not as written (2.10 "
                'reads as 2.1): quote it, as in `release: "2.10"`'
            )
        return value

    @field_validator("date", mode="before")
    @classmethod
    def _iso_date(cls, value: object) -> object:
        if isinstance(value, str) and not _is_iso_date(value):
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")
        return value

    @property
    def file_name(self) -> str:
        """The migration file's path under `paths.migrations`."""
        return self.file if self.file is not None else f"{self.id}.sql"


class Catalog(_Model):
    """`catalog.yaml`: every migration of a PostgreSQL project, in the order they are applied."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "migdocs catalog v1",
        },
    )

    version: Literal[1]
    """The catalog format's version."""
    project: ProjectInfo
    paths: Paths = Paths()
    conventions: Conventions = Conventions()
    review: ReviewPolicy = ReviewPolicy()
    ledger: Ledger = Ledger()
    runner: RunnerSettings = RunnerSettings()
    rules: dict[Annotated[str, StringConstraints(pattern=RULE_CODE)], RuleSetting] = Field(
        default_factory=_no_settings,
        # pydantic writes only `patternProperties`, which lets any other key through.
        json_schema_extra={"propertyNames": {"pattern": RULE_CODE}, "additionalProperties": False},
    )
    """Per-rule settings, by code."""
    replay: Replay = Replay()
    live: Live = Live()
    migrations: list[Migration] = Field(default_factory=_empty)
    """Every migration, in the order they are applied."""

    @model_validator(mode="after")
    def _one_layout(self) -> Catalog:
        if self.runner.kind != "plain":
            said = [
                key for key in ("paths", "conventions", "ledger") if key in self.model_fields_set
            ]
            if said:
                keys = " and ".join(f"`{key}`" for key in said)
                raise ValueError(
                    f"{keys} belong to runner `plain`; runner `{self.runner.kind}` knows its "
                    "own layout (give `runner.path`, and `runner.ledger` for another table)"
                )
        return self


#: The name catalog v1 published for each model whose class is named otherwise in the code
#: (an editor's ``$ref`` may name them).
PUBLISHED_NAMES = {"ProjectInfo": "Project"}


def json_schema() -> dict[str, Any]:
    """The catalog's JSON Schema, each key described by its attribute docstring."""
    from pydantic.json_schema import GenerateJsonSchema  # only `migdocs schema` needs it

    class Published(GenerateJsonSchema):
        def normalize_name(self, name: str) -> str:
            return super().normalize_name(PUBLISHED_NAMES.get(name, name))

    schema = Catalog.model_json_schema(schema_generator=Published)
    definitions = schema.get("$defs", {})
    for model in _models():
        name = PUBLISHED_NAMES.get(model.__name__, model.__name__)
        target = schema if model is Catalog else definitions.get(name)
        if target is None:
            continue
        if model.__name__ != name:
            target["title"] = name
        properties = target.get("properties", {})
        for key, text in _attribute_docstrings(model).items():
            if key in properties and "description" not in properties[key]:
                properties[key]["description"] = text
    return schema


def _models() -> list[type[BaseModel]]:
    return [
        value
        for value in globals().values()
        if isinstance(value, type) and issubclass(value, _Model) and value is not _Model
    ]


def _attribute_docstrings(model: type[BaseModel]) -> dict[str, str]:
    """``field: docstring`` for each annotated attribute followed by a string literal."""
    import ast
    import inspect
    from itertools import pairwise

    tree = ast.parse(inspect.cleandoc("\n" + inspect.getsource(model)))
    found: dict[str, str] = {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    for statement, following in pairwise(body):
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            found[statement.target.id] = inspect.cleandoc(following.value.value)
    return found


def _is_iso_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


__all__ = [
    "Catalog",
    "Conventions",
    "Impact",
    "Ledger",
    "Live",
    "Migration",
    "ObjectKind",
    "Objects",
    "Paths",
    "ProjectInfo",
    "Replay",
    "Reviewed",
    "Risk",
    "Rollback",
    "RuleSetting",
    "Severity",
]
