import factory
from django.contrib.auth import get_user_model

from contacts.models import Category, Channel, Contact, Segment


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"contact{n}@example.com")
    phone = factory.Sequence(lambda n: f"+336{n:08d}")
    locale = "en"
    time_zone = "Europe/Paris"


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")
    description = "News about things."


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment

    name = factory.Sequence(lambda n: f"Segment {n}")
    slug = factory.Sequence(lambda n: f"segment-{n}")
    public_name = factory.LazyAttribute(lambda s: f"Public {s.name}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True
    password = factory.django.Password("password")


def channel(slug: str) -> Channel:
    return Channel.objects.get(slug=slug)


class ContactFieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "contacts.ContactField"

    key = factory.Sequence(lambda n: f"field_{n}")
    label = factory.LazyAttribute(lambda f: f.key.replace("_", " ").capitalize())
    type = "text"
