"""The one mixin behind every resource type the emulator adds to moto's CloudFormation."""
from __future__ import annotations

from typing import Any, Callable, ClassVar, Mapping

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel


class EmulatedResource:
    """What moto asks of a CloudFormation resource model, answered from three declarations.

    A type declares ``TYPE``, ``NAME_PROPERTY`` (the property that names the resource, "" when
    none does) and ``ATTRIBUTES`` (each ``Fn::GetAtt`` name with a function of the model giving
    its value), and defines ``physical_resource_id`` (what ``Ref`` returns) and
    ``create_from_cloudformation_json``. The engine updates and deletes through the type's hooks
    (``emulator/cfn/resources/hooks.py``); without a delete hook it falls back on moto's
    ``delete_from_cloudformation_json``, which a type then defines.

    Write ``class X(EmulatedResource, CloudFormationModel)``: moto finds resource types among
    ``CloudFormationModel.__subclasses__()``, its *direct* subclasses only, so this mixin must not
    be one of them (it would be found as a type of its own) and each type must be one.
    """

    TYPE: ClassVar[str] = ""
    NAME_PROPERTY: ClassVar[str] = ""
    ATTRIBUTES: ClassVar[Mapping[str, Callable[[Any], Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if CloudFormationModel not in cls.__bases__:
            raise TypeError(f"{cls.__name__} must name CloudFormationModel among its direct bases, "
                            "or moto's CloudFormation never finds the type")
        if not cls.TYPE:
            raise TypeError(f"{cls.__name__} must declare its resource TYPE")

    def __init__(self, account_id: str, region_name: str) -> None:
        self.account_id = account_id
        self.region_name = region_name

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name not in self.ATTRIBUTES:
            raise UnformattedGetAttTemplateException()
        return self.ATTRIBUTES[attribute_name](self)

    def is_created(self) -> bool:
        return True
