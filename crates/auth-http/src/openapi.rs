//! The OpenAPI 3.1 document of the routes a configuration mounts, built
//! from the same route table as the router ([`crate::routes::ROUTES`]), so
//! that a route cannot be served without being documented or the reverse.
//! Request schemas follow DRF's field rules: a text field takes a string
//! with a non-blank character, or a number (DRF reads it as its text).

use auth_core::settings::{Settings, UserField};
use axum::http::{Method, StatusCode};
use utoipa::openapi::path::{HttpMethod, Operation, OperationBuilder, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{
    AnyOfBuilder, ArrayBuilder, ComponentsBuilder, ObjectBuilder, Schema, SchemaFormat, SchemaType,
    Type,
};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, RefOr,
    Required, ResponseBuilder,
};

use crate::ApiConfig;
use crate::endpoint::{Access, Spec};
use crate::routes::Route;

const JSON: &str = "application/json";

/// How a route is documented.
pub(crate) struct Doc {
    /// One line on what it does.
    pub summary: &'static str,
    /// The request body `method` takes (`None`: none).
    pub request: fn(&Settings, &Method) -> Option<Fields>,
    /// The success status of `method` and its body.
    pub answer: fn(&Settings, &Method) -> (StatusCode, RefOr<Schema>),
}

/// A request body's fields, in the order documented.
#[derive(Default)]
pub(crate) struct Fields(ObjectBuilder);

impl Fields {
    /// No fields yet.
    pub(crate) fn new() -> Self {
        Self(ObjectBuilder::new().schema_type(Type::Object))
    }

    fn add(self, name: &str, schema: impl Into<RefOr<Schema>>, required: bool) -> Self {
        let object = self.0.property(name, schema);
        Self(if required {
            object.required(name)
        } else {
            object
        })
    }

    /// These fields, then `more`'s.
    pub(crate) fn merge(self, more: Option<Fields>) -> Self {
        match more {
            Some(Fields(more)) => {
                let more: Schema = more.into();
                let Schema::Object(more) = more else {
                    return self;
                };
                let mut object = self.0;
                for (name, schema) in more.properties {
                    let required = more.required.contains(&name);
                    object = object.property(name.clone(), schema);
                    if required {
                        object = object.required(name);
                    }
                }
                Self(object)
            }
            None => self,
        }
    }

    /// A DRF `CharField`: text with a non-blank character, or a number.
    pub(crate) fn text(self, name: &str, required: bool, max: Option<usize>) -> Self {
        self.add(name, char_field(max).pattern(Some(r"\S")), required)
    }

    /// A DRF `CharField(allow_blank=True)`, optional.
    pub(crate) fn blank_text(self, name: &str, max: Option<usize>) -> Self {
        self.add(name, char_field(max), false)
    }

    /// A DRF `BooleanField`, optional: a boolean, 0 or 1, or one of DRF's
    /// words for them in any case (`yes`, `off`, `t`, …).
    pub(crate) fn flag(self, name: &str) -> Self {
        // DRF's words (auth-core's lists), each letter in either case.
        let words = auth_core::form::TRUE_WORDS
            .iter()
            .chain(&auth_core::form::FALSE_WORDS)
            .map(|word| {
                word.chars()
                    .map(|c| match (c.to_ascii_lowercase(), c.to_ascii_uppercase()) {
                        (lower, upper) if lower != upper => format!("[{lower}{upper}]"),
                        _ => c.to_string(),
                    })
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("|");
        let words = format!("^({words})$");
        // One schema, not anyOf: each keyword constrains its own type only.
        let schema = ObjectBuilder::new()
            .schema_type(
                [Type::Boolean, Type::Integer, Type::String]
                    .into_iter()
                    .collect::<SchemaType>(),
            )
            .minimum(Some(0))
            .maximum(Some(1))
            .pattern(Some(words));
        self.add(name, schema, false)
    }

    /// An e-mail address.
    pub(crate) fn email(self, name: &str, required: bool) -> Self {
        let schema = ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Email,
            )))
            .max_length(Some(254));
        self.add(name, schema, required)
    }

    /// The `user_id`, `timestamp` and `signature` of a mailed link.
    pub(crate) fn link(self) -> Self {
        self.text("user_id", true, None)
            .add(
                "timestamp",
                ObjectBuilder::new().schema_type(Type::Integer),
                true,
            )
            .text("signature", true, None)
    }

    /// The profile fields a profile update writes, all optional when
    /// `partial`; username is required in a full update.
    pub(crate) fn profile(mut self, settings: &Settings, partial: bool) -> Self {
        for field in UserField::ALL {
            if settings.user_fields.edits(field) {
                self = match field {
                    UserField::Username => self.text(field.name(), !partial, Some(150)),
                    _ => self.blank_text(field.name(), Some(150)),
                };
            }
        }
        self
    }
}

fn char_field(max: Option<usize>) -> ObjectBuilder {
    // The limit holds once surrounding whitespace is stripped, as DRF
    // strips it first, which `maxLength` cannot say: it is told in words.
    let limit = max.map(|max| format!("At most {max} characters, surrounding whitespace stripped"));
    ObjectBuilder::new()
        .schema_type(
            [Type::String, Type::Number]
                .into_iter()
                .collect::<SchemaType>(),
        )
        .description(limit)
}

/// A reference to a shared schema.
pub(crate) fn schema(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

/// `{"detail": "…"}`.
pub(crate) fn detail_answer(_: &Settings, _: &Method) -> (StatusCode, RefOr<Schema>) {
    (StatusCode::OK, schema("Detail"))
}

fn text() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// An object of required text properties.
fn texts(names: &[&str]) -> ObjectBuilder {
    names.iter().fold(
        ObjectBuilder::new().schema_type(Type::Object),
        |object, name| object.property(*name, text()).required(*name),
    )
}

/// The profile as shown (`USER_HIDDEN_FIELDS` and friends); with `stored`
/// false, only what a registration echoes (no id, times or flags).
fn profile_schema(settings: &Settings, stored: bool) -> Schema {
    let mut object = ObjectBuilder::new().schema_type(Type::Object);
    for &field in settings.user_fields.shown() {
        let value: ObjectBuilder = match field {
            UserField::Id if stored => ObjectBuilder::new().schema_type(Type::Integer),
            UserField::IsActive if stored => ObjectBuilder::new().schema_type(Type::Boolean),
            UserField::LastLogin if stored => ObjectBuilder::new()
                .schema_type(
                    [Type::String, Type::Null]
                        .into_iter()
                        .collect::<SchemaType>(),
                )
                .format(Some(SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::DateTime,
                ))),
            UserField::DateJoined if stored => text().format(Some(SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            ))),
            UserField::Username | UserField::FirstName | UserField::LastName | UserField::Email => {
                text()
            }
            _ => continue,
        };
        object = object.property(field.name(), value).required(field.name());
    }
    object.into()
}

fn security_schemes() -> [(&'static str, SecurityScheme); 2] {
    [
        (
            "token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Token <key>`, as login/ returns it",
            ))),
        ),
        (
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "sessionid",
                "the session cookie login/ sets (`__Host-sessionid` when cookies are Secure); \
                 unsafe methods also need the `X-CSRFToken` header matching the `csrftoken` cookie",
            ))),
        ),
    ]
}

fn response(description: &str, body: RefOr<Schema>) -> ResponseBuilder {
    ResponseBuilder::new()
        .description(description)
        .content(JSON, ContentBuilder::new().schema(Some(body)).build())
}

fn operation(route: &Route, settings: &Settings, method: &Method) -> Operation {
    let spec: &Spec = route.spec;
    let (status, body) = (route.doc.answer)(settings, method);
    let mut op = OperationBuilder::new()
        .summary(Some(route.doc.summary))
        .operation_id(Some(format!(
            "{}_{}",
            method.as_str().to_lowercase(),
            route.path.replace(['/', '-'], "_")
        )))
        .response(status.as_str(), response("Success", body));
    if let Some(Fields(fields)) = (route.doc.request)(settings, method) {
        let fields: Schema = fields.into();
        // DRF reads a missing body as an empty form: it is refused only
        // when some field is required.
        let needed = matches!(&fields, Schema::Object(o) if !o.required.is_empty());
        op = op.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(if needed {
                    Required::True
                } else {
                    Required::False
                }))
                .content(JSON, ContentBuilder::new().schema(Some(fields)).build())
                .build(),
        ));
        op = op
            .response(
                "400",
                response(
                    "Invalid: DRF field errors, or `detail` / `non_field_errors`",
                    schema("ValidationError"),
                ),
            )
            .response(
                "413",
                response("The body is larger than BODY_LIMIT", schema("Detail")),
            )
            .response(
                "415",
                response("The body's media type is not parsed", schema("Detail")),
            );
    }
    if spec.access == Access::Authenticated {
        op = op
            .security(SecurityRequirement::new("token", [""; 0]))
            .security(SecurityRequirement::new("session", [""; 0]));
    }
    let unsafe_method = !matches!(*method, Method::GET | Method::HEAD);
    op = op.response(
        "401",
        response(
            "Authentication failed (a bad token or session is refused on every endpoint), \
             or it is required here",
            schema("Detail"),
        )
        .header(
            "WWW-Authenticate",
            HeaderBuilder::new().schema(Some(text())).build(),
        ),
    );
    if unsafe_method {
        op = op.response(
            "403",
            response(
                "A session-authenticated unsafe request failed the CSRF check",
                schema("Detail"),
            ),
        );
    }
    if spec.throttle.is_some() {
        op = op.response(
            "429",
            response("Rate limited", schema("Detail")).header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
                    .description(Some("Seconds until the request may be made again"))
                    .build(),
            ),
        );
    }
    op.response(
        "503",
        response(
            "A store (database, Redis) does not answer, or too many password checks wait (`Retry-After`); retry later",
            schema("Detail"),
        ),
    )
    .build()
}

fn http_method(method: &Method) -> Option<HttpMethod> {
    Some(match *method {
        Method::GET => HttpMethod::Get,
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::PATCH => HttpMethod::Patch,
        Method::DELETE => HttpMethod::Delete,
        _ => return None,
    })
}

/// The document of `routes` under `config`'s prefix: the enabled ones only.
pub(crate) fn document(config: &ApiConfig, settings: &Settings, routes: &[Route]) -> OpenApi {
    let mut paths = PathsBuilder::new();
    for route in routes.iter().filter(|r| (r.spec.enabled)(settings)) {
        let mut item: Option<PathItem> = None;
        for method in route.spec.methods {
            let Some(http) = http_method(method) else {
                continue;
            };
            let op = operation(route, settings, method);
            match &mut item {
                Some(item) => item.merge_operations(PathItem::new(http, op)),
                None => item = Some(PathItem::new(http, op)),
            }
        }
        if let Some(item) = item {
            paths = paths.path(crate::routes::full_path(config, route.path), item);
        }
    }
    let detail = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("detail", text())
        .required("detail");
    let messages = ArrayBuilder::new().items(text());
    let field_errors = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "Messages by field; `non_field_errors` for the form as a whole",
        ))
        .additional_properties(Some(messages))
        .min_properties(Some(1));
    let validation = AnyOfBuilder::new()
        .item(schema("Detail"))
        .item(field_errors);
    let login = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("detail", text())
        .required("detail")
        .property(
            "token",
            text().description(Some("The API token, when LOGIN_RETRIEVE_TOKEN is on")),
        );
    let credential = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("id", text())
        .required("id")
        .property("kind", text().enum_values(Some(["token", "session"])))
        .required("kind")
        .property(
            "created",
            ObjectBuilder::new()
                .schema_type(
                    [Type::String, Type::Null]
                        .into_iter()
                        .collect::<SchemaType>(),
                )
                .format(Some(SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::DateTime,
                ))),
        )
        .required("created")
        .property("current", ObjectBuilder::new().schema_type(Type::Boolean))
        .required("current");
    let mut components = ComponentsBuilder::new()
        .schema("Detail", detail)
        .schema("ValidationError", validation)
        .schema("Login", login)
        .schema("Profile", profile_schema(settings, true))
        .schema("RegisteredProfile", profile_schema(settings, false))
        .schema("Credentials", ArrayBuilder::new().items(credential))
        .schema(
            "DjoserUser",
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property("email", text())
                .required("email")
                .property("id", ObjectBuilder::new().schema_type(Type::Integer))
                .required("id")
                .property("username", text())
                .required("username"),
        )
        .schema(
            "AuthToken",
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property("auth_token", text())
                .required("auth_token"),
        )
        .schema(
            "TokenPair",
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property("refresh", text())
                .required("refresh")
                .property("access", text())
                .required("access"),
        )
        .schema(
            "AccessToken",
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property("access", text())
                .required("access"),
        )
        .schema(
            "Empty",
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .description(Some("No body (204)")),
        )
        .schema(
            "RestAuthUser",
            texts(&["username", "email", "first_name", "last_name"])
                .property("pk", ObjectBuilder::new().schema_type(Type::Integer))
                .required("pk"),
        )
        .schema("RestAuthKey", texts(&["key"]))
        .schema(
            "RestAuthJwt",
            texts(&["access", "refresh"])
                .description(Some(
                    "`refresh` is empty under JWT_AUTH_HTTPONLY; the expirations come with JWT_AUTH_RETURN_EXPIRATION",
                ))
                .property("user", Ref::from_schema_name("RestAuthUser"))
                .required("user")
                .property("access_expiration", text())
                .property("refresh_expiration", text()),
        )
        .schema(
            "RestAuthRegistered",
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .description(Some(
                    "`detail` with mandatory verification; otherwise `key` (token mode) or `access`, `refresh` and `user` (JWT mode)",
                ))
                .property("detail", text())
                .property("key", text())
                .property("access", text())
                .property("refresh", text())
                .property("user", Ref::from_schema_name("RestAuthUser")),
        )
        .schema("RestAuthRefreshed", texts(&["access", "access_expiration"]));
    for (name, scheme) in security_schemes() {
        components = components.security_scheme(name, scheme);
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("auth-server")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "django-rest-registration's API (drop-in), plus credentials/, \
                     delete-account/ and resend-verification/",
                ))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components.build()))
        .build()
}
