"""Forms of the network page and the reference-data pages (offices, places, sources, routes)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FloatField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from app.forms import options
from app.models.wireless import SOURCE_TYPES, TAGS
from app.wireless.places import MAX_RADIUS_KM

TAG_LABELS = {"THREAT": "Threat", "SUSPECT": "Suspect", "INVESTIGATE": "Investigate",
              "FALSE_POSITIVE": "False positive", "LEGIT": "Legitimate"}
COLOUR = Regexp(r"^#[0-9a-fA-F]{6}$", message="A colour like #3b82f6.")


class TagForm(FlaskForm):
    tag = SelectField("Tag", choices=options((t, TAG_LABELS[t]) for t in TAGS), validators=[InputRequired()])
    confidence = FloatField("Confidence (0-1)", validators=[Optional(), NumberRange(0, 1)])
    notes = StringField("Why", validators=[Optional(), Length(max=2000)])


class NoteForm(FlaskForm):
    note = TextAreaField("Note (Markdown)", validators=[InputRequired("Write something first."), Length(max=20000)])


class MediaForm(FlaskForm):
    file = FileField("File", validators=[FileRequired("Choose a file.")])
    description = StringField("Description", validators=[Optional(), Length(max=1000)])


class _Position(FlaskForm):
    lat = FloatField("Latitude", validators=[InputRequired(), NumberRange(-90, 90)])
    lon = FloatField("Longitude", validators=[InputRequired(), NumberRange(-180, 180)])

    def validate_lon(self, field) -> None:
        if field.data == 0 and self.lat.data == 0:
            raise ValidationError("0, 0 is the 'no fix' position; enter the real place.")


class HomeForm(_Position):
    name = StringField("Name", default="Home", validators=[InputRequired(), Length(max=200)])
    radius_km = FloatField("Radius (km)", default=0.5, validators=[InputRequired(), NumberRange(0.01, MAX_RADIUS_KM)])


class MarkerForm(_Position):
    name = StringField("Name", validators=[InputRequired(), Length(max=200)])
    description = StringField("Description", validators=[Optional(), Length(max=1000)])
    color = StringField("Colour", default="#3b82f6", validators=[InputRequired(), COLOUR])


class SourceForm(FlaskForm):
    code = StringField("Code", validators=[InputRequired(), Length(max=64),
                                           Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                                                  message="Letters, digits, '.', '_' and '-' only.")])
    name = StringField("Name", validators=[InputRequired(), Length(max=200)])
    device_type = SelectField("Kind", choices=options((t, t) for t in SOURCE_TYPES), validators=[InputRequired()])
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)])


class RouteForm(FlaskForm):
    source_id = SelectField("Device source", coerce=int, validators=[InputRequired()])
    start = DateTimeLocalField("From (UTC)", format="%Y-%m-%dT%H:%M", validators=[InputRequired()])
    end = DateTimeLocalField("To (UTC)", format="%Y-%m-%dT%H:%M", validators=[InputRequired()])
    name = StringField("Name", validators=[Optional(), Length(max=200)])

    def validate_end(self, field) -> None:
        if self.start.data and field.data and field.data <= self.start.data:
            raise ValidationError("The end must be after the start.")


class OfficeImportForm(FlaskForm):
    file = FileField("CSV file")
    text = TextAreaField("or paste CSV", validators=[Optional(), Length(max=2_000_000)])
    confirm = BooleanField("Save (untick to preview only)", default=False)
